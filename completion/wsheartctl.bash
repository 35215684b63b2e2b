# bash completion for wsheartctl(1): verbs, options, and the user ids of the
# running daemon (asked with `wsheartctl list` on the bus the command line
# names). Installed to bash-completion's completionsdir as "wsheartctl".

_wsheartctl() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    local verbs="status list monitor send reconnect reload recent notify"
    local i word verb= bus= nargs=0 options_done=

    # What is already on the line: the verb, the bus, the arguments so far.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -z $options_done && $word == -- ]]; then
            options_done=1
        elif [[ -z $options_done && $word == @(--since|--summary|--body|--priority|--quiet-for) ]]; then
            ((i++))
        elif [[ -z $options_done && $word == -* ]]; then
            case $word in
                --system | --user) bus=$word ;;
            esac
        elif [[ -z $verb ]]; then
            verb=$word
        else
            ((nargs++))
        fi
    done

    COMPREPLY=()
    if [[ -z $options_done && $prev == @(--since|--summary|--body|--priority|--quiet-for) ]]; then
        return 0  # a sequence number, a JSON pointer, a duration
    fi
    if [[ -z $options_done && $cur == -* ]]; then
        local options="--system --user --json --no-legend --help --version"
        [[ -z $verb || $verb == recent ]] && options+=" --since"
        [[ -z $verb || $verb == reconnect ]] && options+=" --fresh"
        [[ -z $verb || $verb == notify ]] && options+=" --summary --body --priority --quiet-for"
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
        return 0
    fi
    if [[ -z $verb ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
        return 0
    fi

    local want_id=
    case $verb in
        status | monitor | notify) want_id=1 ;;
        send | reconnect | recent) ((nargs == 0)) && want_id=1 ;;
    esac
    [[ -n $want_id ]] || return 0

    # Ids from the daemon itself; a daemon that is not running offers none.
    # `timeout` bounds a bus that does not answer.
    local id ids
    mapfile -t ids < <(timeout 3 "${COMP_WORDS[0]}" ${bus:+"$bus"} list 2>/dev/null)
    for id in "${ids[@]}"; do
        [[ $id == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$id")")
    done
    return 0
}
complete -F _wsheartctl wsheartctl
