namespace EcpayEvents.Cli.CommandLine;

/// <summary>
/// Everything a command touches outside itself: its streams, the environment, the local stack's settings, an HTTP
/// client (tests hand in one) and the clock. Commands never read <see cref="Console"/> or the process environment directly.
/// </summary>
public sealed class CliContext
{
    public required TextWriter Stdout { get; init; }
    public required TextWriter Stderr { get; init; }
    public required Func<string, string?> Environment { get; init; }

    /// <summary>Settings of a stack started by ./run.sh (<see cref="LocalStack"/>), used when neither an option nor the environment gives one.</summary>
    public LocalStack? Local { get; init; }

    /// <summary>When set, every HTTP call (Step Functions, ECPay, the services) goes through it.</summary>
    public HttpClient? Http { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The options several commands share, for this invocation's command tree.</summary>
    public SharedOptions Options { get; } = new();

    public Func<Stream> OpenStdin { get; init; } = () => Stream.Null;
    public bool StdinRedirected { get; init; }

    /// <summary>Colour only for a terminal that has not asked for none (NO_COLOR).</summary>
    public bool Color { get; init; }

    /// <summary>The real process: the console, its environment, and the local stack's settings if ./run.sh wrote them.</summary>
    public static CliContext FromProcess() => new()
    {
        Stdout = Console.Out,
        Stderr = Console.Error,
        Environment = System.Environment.GetEnvironmentVariable,
        Local = LocalStack.Find(System.Environment.GetEnvironmentVariable, Directory.GetCurrentDirectory()),
        // Bytes, not Console.In: Console.In decodes with the locale's encoding (see MacCommand).
        OpenStdin = Console.OpenStandardInput,
        StdinRedirected = Console.IsInputRedirected,
        Color = !Console.IsOutputRedirected && string.IsNullOrEmpty(System.Environment.GetEnvironmentVariable("NO_COLOR"))
            && System.Environment.GetEnvironmentVariable("TERM") is not "dumb",
    };

    /// <summary>For tests and callers in the same process: no local stack unless given, no colour, no stdin.</summary>
    public static CliContext For(TextWriter stdout, TextWriter stderr, Func<string, string?> environment, HttpClient? http = null, TimeProvider? time = null) => new()
    {
        Stdout = stdout,
        Stderr = stderr,
        Environment = environment,
        Http = http,
        Time = time ?? TimeProvider.System,
    };
}
