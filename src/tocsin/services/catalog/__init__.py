"""Setting up what alerts arrive at and who they page: teams, escalation policies,
services and their integrations.

Every write checks its input before the database sees it, needs the admin role,
runs in one transaction with an audit record, and refuses a name already taken
with Conflict. Reads return plain records, never ORM objects, and check no
role: they show configuration, not incidents.
"""

from tocsin.services.catalog.common import (
    MAX_DELAY_MINUTES,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_REPEAT,
    MAX_STEPS,
    MAX_TARGETS,
    POLICY_NAMES_LOCK,
    STEP_SYNTAX,
    TARGET_SYNTAX,
    IntegrationRead,
    NewKey,
    PolicyRead,
    ServiceRead,
    StepInput,
    StepRead,
    TeamRead,
)
from tocsin.services.catalog.policies import (
    create_policy,
    create_team,
    get_policy,
    list_policies,
    list_teams,
    parse_step,
)
from tocsin.services.catalog.services import (
    add_integration,
    create_service,
    disable_integration,
    get_service,
    list_services,
    rotate_key,
    set_policy,
)

__all__ = [
    "MAX_DELAY_MINUTES",
    "MAX_DESCRIPTION",
    "MAX_NAME",
    "MAX_REPEAT",
    "MAX_STEPS",
    "MAX_TARGETS",
    "POLICY_NAMES_LOCK",
    "STEP_SYNTAX",
    "TARGET_SYNTAX",
    "IntegrationRead",
    "NewKey",
    "PolicyRead",
    "ServiceRead",
    "StepInput",
    "StepRead",
    "TeamRead",
    "add_integration",
    "create_policy",
    "create_service",
    "create_team",
    "disable_integration",
    "get_policy",
    "get_service",
    "list_policies",
    "list_services",
    "list_teams",
    "parse_step",
    "rotate_key",
    "set_policy",
]
