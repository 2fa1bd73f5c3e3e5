"""EMR's words for where a cluster is in its life, shared by the backend and its callers."""

TERMINAL = frozenset({"TERMINATED", "TERMINATED_WITH_ERRORS"})
# the StateChangeReason codes a cluster ends TERMINATED with; every other ends it with errors
CLEAN_ENDS = frozenset({"USER_REQUEST", "ALL_STEPS_COMPLETED"})
