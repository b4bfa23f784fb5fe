using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Testing;

/// <summary>One structured log entry as the service wrote it: event id, level, message and its named values.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, int EventId, string Message, IReadOnlyDictionary<string, string?> Values, string? Exception = null)
{
    public string? this[string name] => Values.GetValueOrDefault(name);

    /// <summary>Everything the entry would put in a log line: message, named values, exception.</summary>
    public string Text => Message + "\n" + string.Join("\n", Values.Select(kv => $"{kv.Key}={kv.Value}")) + (Exception is null ? "" : "\n" + Exception);
}

/// <summary>A logger provider added to a service under test (next to its JSON console) that keeps every entry.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> entries = new();

    public IReadOnlyList<CapturedLog> Entries => entries.ToArray();

    public IReadOnlyList<CapturedLog> WithEventId(int eventId) => entries.Where(e => e.EventId == eventId).ToList();

    /// <summary>For services built from an IServiceCollection (PaymentsApiApp.Build(args, services => …)).</summary>
    public void AddTo(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(this);

    /// <summary>For <c>SettlementApp.Build(args, capture.AddTo)</c>.</summary>
    public void AddTo(WebApplicationBuilder builder) => builder.Services.AddSingleton<ILoggerProvider>(this);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                foreach (var (k, v) in pairs) values[k] = Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture);
            owner.entries.Enqueue(new CapturedLog(category, logLevel, eventId.Id, formatter(state, exception), values, exception?.ToString()));
        }
    }
}
