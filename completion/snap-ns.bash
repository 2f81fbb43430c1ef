# SPDX-License-Identifier: GPL-3.0-only
# bash completion for snap-ns(1): commands, options, columns, instances
# (from snap-ns list) and security tags (from snapd's seccomp profiles).

_snap_ns_instances() {
	snap-ns list -n -o INSTANCE 2>/dev/null | sort -u
}

_snap_ns_tags() {
	local f
	for f in /var/lib/snapd/seccomp/bpf/snap.*.bin2 /var/lib/snapd/seccomp/bpf/snap.*.bin; do
		[ -e "$f" ] || continue
		f=${f##*/}
		echo "${f%.bin*}"
	done | sort -u
}

_snap_ns() {
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		list | explain | show) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $prev in
	-o | --output)
		local cols
		if [ "$cmd" = show ]; then
			cols="MOUNT-POINT TYPE SOURCE ROOT DEVICE PROPAGATION OPTIONS"
		else
			cols="NAMESPACE INSTANCE UID ID INODE BASE REVISION DEVICE STALE OCCUPIED NPROCS PIDS NEXT MADE-BY AGE REASON"
		fi
		local head=${cur%,*},
		[ "$head" = "$cur," ] && head=
		COMPREPLY=($(compgen -P "$head" -W "$cols" -- "${cur##*,}"))
		return
		;;
	--base) return ;;
	--uid)
		COMPREPLY=($(compgen -W "$(getent passwd | cut -d: -f3)" -- "$cur"))
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		local opts="--help --version"
		case $cmd in
		list) opts+=" --json --output --noheadings" ;;
		explain) opts+=" --json --classic --base --uid" ;;
		show) opts+=" --json --output --noheadings --uid" ;;
		esac
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	case $cmd in
	"") COMPREPLY=($(compgen -W "list explain show" -- "$cur")) ;;
	explain) COMPREPLY=($(compgen -W "$(_snap_ns_tags)" -- "$cur")) ;;
	show) COMPREPLY=($(compgen -W "$(_snap_ns_instances)" -- "$cur")) ;;
	esac
}
complete -F _snap_ns snap-ns
