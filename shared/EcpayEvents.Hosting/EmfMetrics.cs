using System.Buffers;
using System.Text;
using System.Text.Json;

namespace EcpayEvents.Hosting;

/// <summary>
/// CloudWatch metrics as Embedded Metric Format lines on stdout: on Lambda, CloudWatch Logs turns each line into
/// metric values (no API call, no agent); locally they are log lines like any other. One JSON object per line:
/// <c>{"_aws":{"Timestamp":…,"CloudWatchMetrics":[{"Namespace":"EcpayEvents","Dimensions":[["Service"],["Service","Reason"]],
/// "Metrics":[{"Name":"NotificationRejected","Unit":"Count"}]}]},"Service":"Notifications","Reason":"CheckMacValue","NotificationRejected":1}</c>.
/// With a dimension, the value is also published under the service alone, so alarms can add up every reason.
/// Written synchronously, one line per call: a Lambda may be frozen right after the answer, and a buffered value
/// would be lost.
/// </summary>
public sealed class EmfMetrics(string service, TextWriter output, TimeProvider time)
{
    public const string CountUnit = "Count";
    public const string MillisecondsUnit = "Milliseconds";

    /// <summary>The service's short name, the <see cref="MetricNames.ServiceDimension"/> of every value.</summary>
    public string Service { get; } = service;

    /// <summary>Adds <paramref name="count"/> to <paramref name="metric"/>, optionally under one more dimension (a bounded value).</summary>
    public void Count(string metric, string? dimension = null, string? dimensionValue = null, long count = 1) =>
        Write(metric, CountUnit, [count], dimension, dimensionValue);

    /// <summary>One duration of <paramref name="metric"/>, in milliseconds.</summary>
    public void Milliseconds(string metric, double milliseconds, string? dimension = null, string? dimensionValue = null) =>
        Write(metric, MillisecondsUnit, [milliseconds], dimension, dimensionValue);

    /// <summary>
    /// Several durations of <paramref name="metric"/> in one line (EMF's array of values, at most
    /// <see cref="MaxValuesPerLine"/> each; more take more lines): a batch's values cost one line, not one each.
    /// </summary>
    public void Milliseconds(string metric, IReadOnlyList<double> milliseconds)
    {
        ArgumentNullException.ThrowIfNull(milliseconds);
        var values = milliseconds.ToArray();
        for (var start = 0; start < values.Length; start += MaxValuesPerLine)
            Write(metric, MillisecondsUnit, values.AsSpan(start, Math.Min(MaxValuesPerLine, values.Length - start)), null, null);
    }

    /// <summary>CloudWatch takes at most 100 values of a metric in one EMF line.</summary>
    public const int MaxValuesPerLine = 100;

    private void Write(string metric, string unit, ReadOnlySpan<double> values, string? dimension, string? dimensionValue)
    {
        var withDimension = dimension is not null && !string.IsNullOrEmpty(dimensionValue);
        // One buffer and writer per thread, reused: a request pays for the line's string only.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var json = t_json ??= new Utf8JsonWriter(buffer);
        json.Reset(buffer);
        {
            json.WriteStartObject();
            json.WriteStartObject("_aws");
            json.WriteNumber("Timestamp", time.GetUtcNow().ToUnixTimeMilliseconds());
            json.WriteStartArray("CloudWatchMetrics");
            json.WriteStartObject();
            json.WriteString("Namespace", MetricNames.Namespace);
            json.WriteStartArray("Dimensions");
            json.WriteStartArray();
            json.WriteStringValue(MetricNames.ServiceDimension);
            json.WriteEndArray();
            if (withDimension)
            {
                json.WriteStartArray();
                json.WriteStringValue(MetricNames.ServiceDimension);
                json.WriteStringValue(dimension);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteStartArray("Metrics");
            json.WriteStartObject();
            json.WriteString("Name", metric);
            json.WriteString("Unit", unit);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteString(MetricNames.ServiceDimension, Service);
            if (withDimension) json.WriteString(dimension!, dimensionValue);
            if (values.Length == 1)
            {
                json.WriteNumber(metric, values[0]);
            }
            else
            {
                json.WriteStartArray(metric);
                foreach (var value in values) json.WriteNumberValue(value);
                json.WriteEndArray();
            }
            json.WriteEndObject();
            json.Flush();
        }
        buffer.Write("\n"u8);
        // One write of the whole line, so lines of concurrent requests (and the log's) never interleave.
        output.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_json;
}
