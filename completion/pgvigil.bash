# bash completion for pgvigil(1)                               -*- shell-script -*-
# Installed as <datadir>/bash-completion/completions/pgvigil (loaded on first use of pgvigil).
# Completes commands, sub-commands, options and their values; target names come from the config
# the command line names (-c FILE, else $PGVIGIL_CONFIG, else the default), through
# `pgvigil config show`, which reads the file only (it never contacts a server or the agent).
# tests/completion/test_completion.sh holds the lists here to `pgvigil COMMAND --help`.

# The target names of a config: config show prints each as `  - name: "NAME"  # origin`.
_pgvigil_targets() {
    local prog=$1 config=$2
    local -a args=(config show)
    [[ -n $config ]] && args+=(-c "$config")
    "$prog" "${args[@]}" 2>/dev/null | sed -n 's/^  - name: "\([a-z0-9_-]*\)".*$/\1/p'
}

_pgvigil() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    local prog=${COMP_WORDS[0]}
    [[ $prog == */* ]] || prog=$(type -P "$prog" 2>/dev/null || echo pgvigil)
    prog=${prog/#\~/$HOME}
    COMPREPLY=()

    # What comes before the cursor: the command, its sub-command or TARGET, and the config file.
    local cmd="" arg="" config="" i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            -c | --config) config=${COMP_WORDS[i + 1]}; ((i++)); continue ;;
            --config=*) config=${w#--config=}; continue ;;
            -t | --target | --format | --conninfo | --env-dir | --for | --listen | --name | --account | --postgres-service) ((i++)); continue ;;
            -*) continue ;;
        esac
        if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $arg ]]; then arg=$w; fi
    done
    config=${config/#\~/$HOME}

    case $prev in
        -c | --config)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
        --env-dir)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"))
            return ;;
        --format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        -t | --target) COMPREPLY=($(compgen -W "$(_pgvigil_targets "$prog" "$config")" -- "$cur")); return ;;
        --for) COMPREPLY=($(compgen -W "15m 30m 1h 2h 8h 1d" -- "$cur")); return ;;
        --account) COMPREPLY=($(compgen -W "LocalService NetworkService LocalSystem" -- "$cur")); return ;;
        --conninfo | --listen | --name | --postgres-service) return ;;  # free text
    esac

    local commands="run check diagnose config pause resume restart demo service help"
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi

    local opts="" positional=""
    case $cmd in
        run) opts="-c --config --service -h --help" ;;
        check) opts="-c --config -t --target --format -h --help" ;;
        diagnose) opts="-c --config -t --target --format --conninfo --env-dir -h --help" ;;
        config)
            opts="-c --config -h --help"
            [[ -z $arg ]] && positional="validate show" ;;
        pause)
            opts="-c --config --for -h --help"
            [[ -z $arg ]] && positional=$(_pgvigil_targets "$prog" "$config") ;;
        resume | restart)
            opts="-c --config -h --help"
            [[ -z $arg ]] && positional=$(_pgvigil_targets "$prog" "$config") ;;
        demo) opts="--listen -h --help" ;;
        service)
            opts="-c --config --name --account --postgres-service -h --help"
            [[ -z $arg ]] && positional="install uninstall" ;;
        help)
            [[ -z $arg ]] && positional=$commands ;;
        *) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$positional" -- "$cur"))
    fi
}

complete -F _pgvigil pgvigil
