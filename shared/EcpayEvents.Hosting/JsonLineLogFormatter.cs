using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace EcpayEvents.Hosting;

/// <summary>
/// One JSON object per log event, flat, so that CloudWatch Logs Insights (or grep) finds a payment's story with one
/// filter: <c>filter MerchantTradeNo = "EE0…"</c>. Fixed fields first (Timestamp UTC, LogLevel, EventId, Category,
/// Message, Exception), then the event's named values, then those of its scopes (TraceId, SpanId, MessageId,
/// ExecutionName, RequestPath…); a name already written is not repeated. Unlike the stock JSON formatter the message
/// text is written once (no State.Message, no {OriginalFormat}).
/// </summary>
public sealed class JsonLineLogFormatter() : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "ecpay-json";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Log lines are read by people and Logs Insights, never rendered as HTML: keep Chinese RtnMsg readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private static readonly string[] FixedFields = ["Timestamp", "LogLevel", "EventId", "Category", "Message", "Exception"];

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (logEntry.Exception is null && string.IsNullOrEmpty(message)) return;

        // The console logger formats on its one queue thread: its buffer, writer and name set are reused.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var json = t_json ??= new Utf8JsonWriter(buffer, WriterOptions);
        json.Reset(buffer);
        var written = t_written ??= new HashSet<string>(StringComparer.Ordinal);
        written.Clear();
        written.UnionWith(FixedFields);
        {
            json.WriteStartObject();
            json.WriteString("Timestamp", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteString("LogLevel", LevelName(logEntry.LogLevel));
            json.WriteNumber("EventId", logEntry.EventId.Id);
            json.WriteString("Category", logEntry.Category);
            json.WriteString("Message", message);
            if (logEntry.Exception is { } exception) json.WriteString("Exception", exception.ToString());
            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> state)
                WriteValues(json, state, written);
            scopeProvider?.ForEachScope(static (scope, s) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object?>> values) WriteValues(s.Json, values, s.Written);
                else if (scope is not null && s.Written.Add("Scope")) s.Json.WriteString("Scope", Convert.ToString(scope, CultureInfo.InvariantCulture));
            }, (Json: json, Written: written));
            json.WriteEndObject();
            json.Flush();
        }
        buffer.Write("\n"u8);
        // One write per line: the console logger's queue is the only writer, but EMF lines share stdout.
        textWriter.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_json;
    [ThreadStatic] private static HashSet<string>? t_written;

    private static void WriteValues(Utf8JsonWriter json, IEnumerable<KeyValuePair<string, object?>> values, HashSet<string> written)
    {
        foreach (var (key, value) in values)
        {
            // {OriginalFormat} is the message template: the message itself is already there.
            if (key == "{OriginalFormat}" || !written.Add(key)) continue;
            json.WritePropertyName(key);
            WriteValue(json, value);
        }
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case bool b: json.WriteBooleanValue(b); break;
            case int i: json.WriteNumberValue(i); break;
            case long l: json.WriteNumberValue(l); break;
            case short s: json.WriteNumberValue(s); break;
            case uint ui: json.WriteNumberValue(ui); break;
            case ulong ul: json.WriteNumberValue(ul); break;
            case double d when double.IsFinite(d): json.WriteNumberValue(d); break;
            case float f when float.IsFinite(f): json.WriteNumberValue(f); break;
            case decimal m: json.WriteNumberValue(m); break;
            case DateTimeOffset dto: json.WriteStringValue(dto.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)); break;
            case DateTime dt: json.WriteStringValue(dt.ToString("O", CultureInfo.InvariantCulture)); break;
            default: json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "Trace",
        LogLevel.Debug => "Debug",
        LogLevel.Information => "Information",
        LogLevel.Warning => "Warning",
        LogLevel.Error => "Error",
        LogLevel.Critical => "Critical",
        _ => "None",
    };
}
