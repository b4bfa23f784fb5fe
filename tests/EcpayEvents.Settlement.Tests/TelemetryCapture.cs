using System.Text.Json;
using EcpayEvents.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EcpayEvents.Settlement.Tests;

/// <summary>
/// What services under test write to stdout, kept: their EMF metric lines (the real <see cref="EmfMetrics"/> on
/// another writer) and their log lines as the real <see cref="JsonLineLogFormatter"/> writes them, scopes included.
/// </summary>
public sealed class TelemetryCapture
{
    private readonly StringWriter metrics = new();
    private readonly StringWriter logs = new();
    private readonly TextWriter syncMetrics;
    private readonly TextWriter syncLogs;

    public TelemetryCapture()
    {
        syncMetrics = TextWriter.Synchronized(metrics);
        syncLogs = TextWriter.Synchronized(logs);
    }

    public IReadOnlyList<string> MetricLines => Lines(syncMetrics, metrics);

    public IReadOnlyList<string> LogLines => Lines(syncLogs, logs);

    /// <summary>Each EMF line, parsed.</summary>
    public IReadOnlyList<JsonElement> Metrics => MetricLines.Select(l => JsonDocument.Parse(l).RootElement).ToList();

    /// <summary>Each log line, parsed.</summary>
    public IReadOnlyList<JsonElement> Logs => LogLines.Select(l => JsonDocument.Parse(l).RootElement).ToList();

    public void AddTo(WebApplicationBuilder builder, string service)
    {
        builder.Services.AddSingleton(new EmfMetrics(service, syncMetrics, TimeProvider.System));
        builder.Services.AddSingleton<ILoggerProvider>(new JsonLineProvider(syncLogs));
    }

    private static List<string> Lines(TextWriter sync, StringWriter writer)
    {
        lock (sync) return writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
    }

    /// <summary>The console logger's formatting, synchronously into a writer, with the factory's scopes.</summary>
    private sealed class JsonLineProvider(TextWriter output) : ILoggerProvider, ISupportExternalScope
    {
        private readonly TextWriter output = output;
        private readonly JsonLineLogFormatter formatter = new();
        private IExternalScopeProvider? scopes;

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

        public void Dispose() { }

        private sealed class Logger(JsonLineProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner.scopes?.Push(state);

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                using var line = new StringWriter();
                owner.formatter.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), owner.scopes, line);
                owner.output.Write(line.ToString().Replace(Environment.NewLine, "\n", StringComparison.Ordinal));
            }
        }
    }
}
