# The models, in teaching order, and the facts about each: read from
# bench/models.txt, the one table of them (its header names the columns).
# Sourced (bash) by the bench scripts and the test suites.
#
#   ALL_MODELS            every model, in teaching order
#   MULTICORE_MODELS      the models with one worker per core by default
#   model_fact M COLUMN   one cell of the table ("-" for none)
#   model_library M       liburing, libevent, or nothing
#   model_max_conns M     the connections M can hold (select: 1016), or nothing
#   model_task M          process or thread (a task per connection), or nothing
#   model_workers M       process or thread (fixed workers, one client each), or nothing
#   model_tasks_per_conn M  true when each connection takes a task (task or workers)
#   model_serves_with M KIND  true when that task or those workers are KIND (process or thread)
#   model_one_client M    true when M serves one client at a time (blocking)
#   model_idle_kib M      the KiB an idle connection costs M at most, or nothing
#   model_server_args M N the options for a bench point of N connections
#   model_not_run M WORKLOAD N  why a point of N connections is not for M
#   model_unavailable DIR M     why DIR/echo-M cannot run here
#
# make reads the same table: the models are the first column of every line
# that is not a comment, awk '!/^#/ && NF { print $1 }' bench/models.txt,
# and the libraries the lines whose second column is not "-".
#
# uring and libevent need a library at build time (the Makefile leaves them
# out without it), and uring needs io_uring at run time: a kernel older than
# 5.6, kernel.io_uring_disabled or a seccomp filter (containers often have
# one) stops it, and it then exits 1 with "io_uring is unavailable here: ..."
# before its readiness line.
# shellcheck shell=bash

# MODELS_TABLE: another table of the same columns (the tests use one).
MODELS_TABLE=${MODELS_TABLE:-"$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/models.txt"}
# start_ready and wait_exit, for model_unavailable.
# shellcheck source=bench/lib.sh disable=SC1091
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
MODELS_COLUMNS=(model library package header link kernel max_conns task workers one_client multicore idle_kib options)

# _MODEL_FACT[MODEL,COLUMN]: the table, read once. -g: the suites source
# this file from inside a function (bats load).
declare -gA _MODEL_FACT=()
ALL_MODELS=()
# shellcheck disable=SC2034 # used by the scripts that source this file
MULTICORE_MODELS=()
_models_read_table() {
	local line fields i
	while IFS= read -r line; do
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		read -r -a fields <<<"$line"
		((${#fields[@]} >= ${#MODELS_COLUMNS[@]})) || {
			echo "bench/models.sh: $MODELS_TABLE: a short line: $line" >&2
			return 1
		}
		ALL_MODELS+=("${fields[0]}")
		for ((i = 1; i < ${#MODELS_COLUMNS[@]} - 1; i++)); do
			_MODEL_FACT[${fields[0]},${MODELS_COLUMNS[i]}]=${fields[i]}
		done
		# The options are the rest of the line.
		_MODEL_FACT[${fields[0]},options]=${fields[*]:${#MODELS_COLUMNS[@]}-1}
		[[ ${_MODEL_FACT[${fields[0]},multicore]} != yes ]] || MULTICORE_MODELS+=("${fields[0]}")
	done <"$MODELS_TABLE"
}
_models_read_table

# model_fact MODEL COLUMN: the cell, as written ("-" for none); fails for an
# unknown model or column.
model_fact() {
	[[ -n ${_MODEL_FACT[$1,$2]+set} ]] || return 1
	echo "${_MODEL_FACT[$1,$2]}"
}

# _model_cell MODEL COLUMN: the cell, with "-" as nothing.
_model_cell() {
	local v=${_MODEL_FACT[$1,$2]:--}
	[[ $v == - ]] || echo "$v"
}

model_library() { _model_cell "$1" library; }
model_max_conns() { _model_cell "$1" max_conns; }
model_task() { _model_cell "$1" task; }
model_idle_kib() { _model_cell "$1" idle_kib; }
model_workers() { _model_cell "$1" workers; }
model_tasks_per_conn() { [[ ${_MODEL_FACT[$1,task]:--} != - || ${_MODEL_FACT[$1,workers]:--} != - ]]; }
model_one_client() { [[ ${_MODEL_FACT[$1,one_client]:-} == yes ]]; }
# model_serves_with M KIND: true when M's task per connection or its
# workers are of KIND (process or thread). A test, not a value: no fork
# (bench/run.sh asks it for every model and point when it plans).
model_serves_with() { [[ ${_MODEL_FACT[$1,task]:-} == "$2" || ${_MODEL_FACT[$1,workers]:-} == "$2" ]]; }

# model_max_workers_var MODEL: the variable capping MODEL's workers
# (POOL_MAX_WORKERS for pool, PREFORK_MAX_WORKERS for prefork), or nothing
# for a model without workers.
model_max_workers_var() {
	[[ ${_MODEL_FACT[$1,workers]:--} != - ]] || return 0
	local name=${1^^}
	echo "${name//-/_}_MAX_WORKERS"
}

# model_spread_args N: for {spread}, nothing while one process holds N
# connections with room to spare (three quarters of the hard descriptor
# limit), else "-w W": enough worker processes that each holds at most that.
model_spread_args() {
	local per_process limit
	limit=$(ulimit -Hn)
	[[ $limit != unlimited ]] || return 0
	per_process=$((limit * 3 / 4))
	(($1 <= per_process)) || echo "-w $((($1 + per_process - 1) / per_process))"
}

# model_server_args MODEL CONNECTIONS: the options of the table for a point
# of that many connections, {conns}, {cap:K} and {spread} filled in.
model_server_args() {
	local model=$1 conns=$2 word out=() cap spread
	local options=${_MODEL_FACT[$model,options]:--}
	[[ $options != - ]] || return 0
	for word in $options; do
		if [[ $word == "{spread}" ]]; then
			read -r -a spread <<<"$(model_spread_args "$conns")"
			out+=("${spread[@]}")
			continue
		elif [[ $word == "{conns}" ]]; then
			word=$((conns > 1 ? conns : 1))
		elif [[ $word =~ ^\{cap:([0-9]+)\}$ ]]; then
			cap=$((conns + 16))
			word=$((cap > BASH_REMATCH[1] ? cap : BASH_REMATCH[1]))
		fi
		out+=("$word")
	done
	echo "${out[*]}"
}

# model_not_run MODEL WORKLOAD CONNECTIONS: prints why the model's facts
# rule out a point of WORKLOAD with CONNECTIONS connections in all (active
# and idle) and succeeds; fails, printing nothing, when they do not. The
# reasons do not name the point: the same reason over a run of points reads
# as one range in the charts. The machine's limits are bench/point.sh's.
model_not_run() {
	local model=$1 workload=$2 conns=$3 max var
	max=$(model_max_conns "$model")
	var=$(model_max_workers_var "$model")
	if model_one_client "$model" && [[ $workload != churn ]] && ((conns > 1)); then
		echo "serves one client at a time: the others would wait forever"
	elif [[ -n $max ]] && ((conns > max)); then
		echo "fds >= FD_SETSIZE (1024) are refused"
	elif [[ -n $var ]] && ((conns > ${!var:-1024})); then
		if [[ $(model_workers "$model") == process ]]; then
			echo "a worker process per connection: more than $var (${!var:-1024})"
		else
			echo "a worker per connection: more than $var (${!var:-1024})"
		fi
	else
		return 1
	fi
}

# model_unavailable DIR MODEL: prints why DIR/echo-MODEL cannot run here and
# succeeds, or prints nothing and fails when it can run.
model_unavailable() {
	local dir=$1 model=$2 out err ready why line library
	if [[ ! -x "$dir/echo-$model" ]]; then
		library=$(model_library "$model")
		if [[ -n $library ]]; then
			echo "built without $library (apt-get install $(model_fact "$model" package), then make)"
		else
			echo "$dir/echo-$model is missing (run make)"
		fi
		return 0
	fi
	[[ ${_MODEL_FACT[$model,kernel]:--} != - ]] || return 1
	# Start it on a free port: its readiness line means the kernel has what
	# it needs (io_uring); otherwise its first line on stderr says why.
	out=$(mktemp) err=$(mktemp)
	start_ready 5000 "$out" "$err" "$dir/echo-$model" -p 0 && ready=1 || ready=0
	why=$READY_REASON
	kill "$READY_PID" 2>/dev/null || true
	wait_exit "$READY_PID" 5
	line=$(head -n 1 "$err")
	rm -f "$out" "$err"
	((ready == 0)) || return 1
	line=${line:-echo-$model: $why, and nothing on stderr}
	echo "${line#echo-"$model": }"
	return 0
}
