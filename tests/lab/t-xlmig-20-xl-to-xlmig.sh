# shellcheck shell=bash
# t-xlmig-20-xl-to-xlmig.sh - (b) stock `xl migrate` sends to
# `xlmig migrate-receive` (xl's -s '' convention: the host argument is the
# whole receiver command). The guest must run on B only and keep counting.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

xlmig_move_a_to_b "xl migrate -s '' lab1 'ssh $(lab_ip B) xlmig migrate-receive'" \
	"xl -> xlmig"
