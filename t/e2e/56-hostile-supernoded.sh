# The hostile-client suite of 55-hostile-basenoded.sh against supernoded:
# the same attacks, a client-role legitimate peer, the same checks.
HOSTILE_DAEMON=supernoded
. "$(dirname "$0")/55-hostile-basenoded.sh"
