using System.CommandLine;
using EcpayEvents.Cli.CommandLine;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events completion bash|zsh`: a script that completes commands and options by asking the tool itself
/// (System.CommandLine's [suggest] directive), so completion always matches the version installed.
/// </summary>
public static class CompletionCommand
{
    public static Command Create(CliContext context)
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var completion = new Command("completion", """
            print a shell completion script; e.g. in ~/.bashrc: source <(ecpay-events completion bash)
            (zsh: source <(ecpay-events completion zsh))
            """) { shell };
        completion.SetAction(parse =>
        {
            context.Stdout.Write(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return ExitCodes.Ok;
        });
        return completion;
    }

    private const string Bash = """
        _ecpay_events_complete() {
          local IFS=$'\n'
          COMPREPLY=( $(ecpay-events "[suggest:${#COMP_LINE}]" "$COMP_LINE" 2>/dev/null | grep -- "^${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _ecpay_events_complete ecpay-events

        """;

    private const string Zsh = """
        _ecpay_events_complete() {
          local -a candidates
          candidates=(${(f)"$(ecpay-events "[suggest:${#BUFFER}]" "$BUFFER" 2>/dev/null)"})
          compadd -- $candidates
        }
        compdef _ecpay_events_complete ecpay-events

        """;
}
