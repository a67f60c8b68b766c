# shellcheck shell=bash
# t-xlmig-30-xlmig-to-xl.sh - (c) `xlmig migrate` sends to stock
# `xl migrate-receive`. The guest must run on B only and keep counting.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

xlmig_move_a_to_b "xlmig migrate -s '' lab1 'ssh $(lab_ip B) xl migrate-receive'" \
	"xlmig -> xl"
