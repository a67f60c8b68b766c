# shellcheck shell=bash
# t-xlmig-30-xlmig-to-xl.sh - (c) `xlmig migrate` sends to stock
# `xl migrate-receive`. The config is given with -C as the guest's xl.cfg
# file (turned into libxl JSON by xl's own parser), as xl migrate -C does.
# The guest must run on B only and keep counting.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

xlmig_move_a_to_b "xlmig migrate -C /root/guest/lab1.cfg -s '' lab1 'ssh $(lab_ip B) xl migrate-receive'" \
	"xlmig -> xl"
