using System.Collections.Concurrent;
using EcpayEvents.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EcpayEvents.Settlement.Tests;

/// <summary>One span as an OTLP exporter sent it (ids as lower-case hex).</summary>
public sealed record OtlpSpan(string TraceId, string SpanId, string ParentSpanId, string Name, int Kind)
{
    public const int Server = 2;
    public const int Producer = 4;
    public const int Consumer = 5;
}

/// <summary>
/// A tiny OTLP/HTTP trace receiver on loopback: keeps the spans of every <c>POST /v1/traces</c>
/// (ExportTraceServiceRequest, protobuf), read with just enough of the wire format for ids, names and kinds.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<OtlpSpan> spans = new();

    private OtlpReceiver(WebApplication app) => this.app = app;

    public string Endpoint => app.BoundAddress().ToString().TrimEnd('/');

    public IReadOnlyList<OtlpSpan> Spans => spans.ToArray();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]);
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            foreach (var span in Parse(body.ToArray())) receiver.spans.Enqueue(span);
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();

    // ExportTraceServiceRequest{1: ResourceSpans{2: ScopeSpans{2: Span{1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind}}}}
    private static IEnumerable<OtlpSpan> Parse(byte[] request) =>
        Fields(request, 1).SelectMany(resourceSpans => Fields(resourceSpans, 2)).SelectMany(scopeSpans => Fields(scopeSpans, 2)).Select(span =>
        {
            string Hex(int field) => Convert.ToHexStringLower(Fields(span, field).FirstOrDefault() ?? []);
            var name = System.Text.Encoding.UTF8.GetString(Fields(span, 5).FirstOrDefault() ?? []);
            return new OtlpSpan(Hex(1), Hex(2), Hex(4), name, (int)Varints(span, 6).FirstOrDefault());
        });

    /// <summary>The length-delimited fields numbered <paramref name="number"/> of a message.</summary>
    private static List<byte[]> Fields(byte[] message, int number) =>
        Walk(message).Where(f => f.Number == number && f.Bytes is not null).Select(f => f.Bytes!).ToList();

    private static IEnumerable<ulong> Varints(byte[] message, int number) =>
        Walk(message).Where(f => f.Number == number && f.Bytes is null).Select(f => f.Value);

    private static List<(int Number, byte[]? Bytes, ulong Value)> Walk(byte[] message)
    {
        var fields = new List<(int, byte[]?, ulong)>();
        var i = 0;
        while (i < message.Length)
        {
            var tag = Varint(message, ref i);
            var number = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0: fields.Add((number, null, Varint(message, ref i))); break;
                case 1: i += 8; break;
                case 2:
                    var length = (int)Varint(message, ref i);
                    fields.Add((number, message[i..(i + length)], 0));
                    i += length;
                    break;
                case 5: i += 4; break;
                default: throw new InvalidDataException($"wire type {tag & 7} at {i}");
            }
        }
        return fields;
    }

    private static ulong Varint(byte[] data, ref int i)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
    }
}
