using System.CommandLine;
using System.CommandLine.Invocation;
using Amazon.Runtime;
using EcpayEvents.Cli.Commands;
using EcpayEvents.Messaging.StepFunctions;
using MySqlConnector;

namespace EcpayEvents.Cli.CommandLine;

/// <summary>
/// `ecpay-events`: every command, and the one place where a failure becomes a message and an exit code
/// (<see cref="ExitCodes"/>): one line on stderr, "ecpay-events COMMAND: what went wrong", never a stack trace
/// or a connection string.
/// </summary>
public static class EcpayEventsCommandLine
{
    public static RootCommand Create(CliContext context)
    {
        var root = new RootCommand("""
            The operators' tool for EcpayEvents. Exit codes: 0 ok, 1 found a problem (or the service said no),
            2 bad usage, 3 could not find out (the database, an endpoint or AWS unreachable).
            Settings: options, else environment variables, else the local stack's (.local/run/stack.json, written by ./run.sh).
            """)
        {
            PaymentCommand.Create(context),
            PaymentsCommand.Create(context),
            DlqCommand.Create(context),
            ReconcileCommand.Create(context),
            DbCommand.Create(context),
            ExecutionsCommand.Create(context),
            TimeoutsCommand.Create(context),
            MacCommand.Create(context),
            EventSourceCommand.Create(context),
            DemoCommand.Create(context),
            CompletionCommand.Create(context),
        };
        return root;
    }

    public static async Task<int> InvokeAsync(string[] args, CliContext context, CancellationToken ct = default)
    {
        var root = Create(context);
        var parse = root.Parse(args);
        var name = CommandPath(parse);
        if (parse.Action is ParseErrorAction && parse.Errors.Count > 0)
        {
            var command = parse.CommandResult.Command;
            // `ecpay-events db` alone: say what it takes rather than "Required command was not provided".
            var error = command.Action is null && command.Subcommands.Count > 0 && parse.UnmatchedTokens.Count == 0
                ? $"expected one of: {string.Join(", ", command.Subcommands.Select(c => c.Name))}"
                : parse.Errors[0].Message;
            context.Stderr.WriteLine($"{name}: {OneLine(error)} (see {name} --help)");
            return ExitCodes.Usage;
        }
        var invocation = new InvocationConfiguration { Output = context.Stdout, Error = context.Stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return await parse.InvokeAsync(invocation, ct);
        }
        catch (UsageException e)
        {
            context.Stderr.WriteLine($"{name}: {OneLine(e.Message)} (see {name} --help)");
            return ExitCodes.Usage;
        }
        catch (Exception e) when (Unavailable(e) is { } why)
        {
            context.Stderr.WriteLine($"{name}: {OneLine(why)}");
            return ExitCodes.Unavailable;
        }
        catch (Exception e) when (e is StepFunctionsException or CommandFailedException or Amazon.Runtime.AmazonServiceException)
        {
            context.Stderr.WriteLine($"{name}: {OneLine(e.Message)}");
            return ExitCodes.Problem;
        }
        catch (ArgumentException e)
        {
            // A value the command could only judge when using it (e.g. a connection string without a database).
            context.Stderr.WriteLine($"{name}: {OneLine(FirstLine(e.Message))} (see {name} --help)");
            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Never a stack trace: one line, and the type, for a bug report.
            context.Stderr.WriteLine($"{name}: unexpected {e.GetType().Name}: {OneLine(FirstLine(e.Message))}");
            return ExitCodes.Problem;
        }
    }

    /// <summary>The reason a part could not be reached, or null when <paramref name="e"/> is not about that.</summary>
    private static string? Unavailable(Exception e) => e switch
    {
        UnavailableException u => u.Message,
        MySqlException m => $"database error: {FirstLine(m.Message)}",
        EvolveDb.EvolveException v => $"database error: {FirstLine(v.InnerException?.Message ?? v.Message)}",
        HttpRequestException h => $"cannot reach {h.Data[NamedEndpointHandler.DataKey] ?? "a service"}: {FirstLine(h.Message)}",
        TaskCanceledException or TimeoutException => "a service did not answer in time",
        AmazonServiceException s when s.StatusCode is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.Unauthorized => $"AWS refused the credentials: {FirstLine(s.Message)}",
        AmazonClientException c => $"AWS: {FirstLine(c.Message)}",
        InvalidOperationException i when i.Message.StartsWith("No AWS region", StringComparison.Ordinal) => $"{i.Message} (or pass --region)",
        _ => null,
    };

    /// <summary>"ecpay-events db review": the command the user ran (as far as it was recognised).</summary>
    public static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(result.Command is RootCommand ? "ecpay-events" : result.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }

    private static string FirstLine(string text) => text.Split('\n')[0].TrimEnd('\r');

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}

/// <summary>The command ran but what it was asked to do was refused (exit 1), e.g. rearming a completed payment.</summary>
public sealed class CommandFailedException(string message) : Exception(message);
