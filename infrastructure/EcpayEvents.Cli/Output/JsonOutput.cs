using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EcpayEvents.Cli.Output;

/// <summary>
/// `--json`: one indented JSON document on stdout, written without reflection (trim- and AOT-safe). Times are
/// ISO 8601 UTC, amounts whole TWD, absent values null; fields are only ever added, never renamed.
/// </summary>
public static class JsonOutput
{
    public static void Write(TextWriter stdout, JsonNode document)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            document.WriteTo(writer);
        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    public static JsonNode? Time(DateTimeOffset? t) => t is { } v ? JsonValue.Create(v.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)) : null;

    /// <summary>A JSON text as a node (null when it is not JSON).</summary>
    public static JsonNode? Parse(string? json)
    {
        if (json is null) return null;
        try
        {
            return JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return JsonValue.Create(json);
        }
    }
}
