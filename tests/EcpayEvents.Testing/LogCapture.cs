using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Testing;

/// <summary>One structured log entry as the service wrote it: event id, level, message, its named values and its scopes' values.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, int EventId, string Message, IReadOnlyDictionary<string, string?> Values, string? Exception,
    IReadOnlyDictionary<string, string?> Scope)
{
    public string? this[string name] => Values.GetValueOrDefault(name);

    /// <summary>Everything the entry would put in a log line: message, named values, exception.</summary>
    public string Text => Message + "\n" + string.Join("\n", Values.Select(kv => $"{kv.Key}={kv.Value}")) + (Exception is null ? "" : "\n" + Exception);
}

/// <summary>The one log capture of the tests: a logger provider added to a service under test (next to its JSON console), or a logger handed to a class, that keeps every entry.</summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedLog> entries = new();
    private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<CapturedLog> Entries => entries.ToArray();

    public IReadOnlyList<CapturedLog> WithEventId(int eventId) => entries.Where(e => e.EventId == eventId).ToList();

    public void AddTo(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(this);

    /// <summary>For a service's test hook: <c>SettlementApp.Build(args, capture.AddTo)</c>.</summary>
    public void AddTo(WebApplicationBuilder builder) => builder.Services.AddSingleton<ILoggerProvider>(this);

    /// <summary>A logger for a class built by hand (no host).</summary>
    public ILogger<T> LoggerFor<T>() => new Logger<T>(new LoggerFactory([this]));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public void Dispose() { }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner.scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                foreach (var (k, v) in pairs) values[k] = Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture);
            var scope = new Dictionary<string, string?>(StringComparer.Ordinal);
            owner.scopes.ForEachScope((s, into) =>
            {
                if (s is IEnumerable<KeyValuePair<string, object>> scoped)
                    foreach (var (k, v) in scoped) into[k] = Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture);
            }, scope);
            owner.entries.Enqueue(new CapturedLog(category, logLevel, eventId.Id, formatter(state, exception), values, exception?.ToString(), scope));
        }
    }
}
