using System.Net.Sockets;
using System.Text;

namespace EcpayEvents.Testing;

/// <summary>
/// Sends bytes to a server exactly as given, over a TCP socket: for requests HttpClient refuses to
/// build (a malformed chunked body, a bad request line, a lying Content-Length).
/// </summary>
public static class RawHttp
{
    /// <summary>The answer's status code and body; 0 when the server closed without answering.</summary>
    public sealed record Answer(int Status, string Head, string Body);

    public static Task<Answer> SendAsync(Uri server, string request, CancellationToken ct = default) =>
        SendAsync(server, Encoding.UTF8.GetBytes(request), ct);

    /// <summary>Writes <paramref name="request"/> and reads until the server closes (send Connection: close).</summary>
    public static async Task<Answer> SendAsync(Uri server, byte[] request, CancellationToken ct = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = client.GetStream();
        try
        {
            // No half-close afterwards: Kestrel takes the end of the input as an aborted request and
            // answers nothing. Connection: close makes it close after its answer.
            await stream.WriteAsync(request, timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer (413, 400) and close before it has read everything: read its answer.
        }
        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0) received.Write(buffer, 0, read);
        }
        catch (IOException) when (received.Length > 0)
        {
            // Reset after the answer was sent: what arrived is the answer.
        }
        var text = Encoding.UTF8.GetString(received.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = end < 0 ? text : text[..end];
        var body = end < 0 ? "" : text[(end + 4)..];
        var parts = head.Split(' ', 3);
        var status = parts.Length >= 2 && text.StartsWith("HTTP/", StringComparison.Ordinal) && int.TryParse(parts[1], out var s) ? s : 0;
        return new Answer(status, head, body);
    }

    /// <summary>A POST whose chunked body says a chunk of 0xffffffff bytes follows, then sends two.</summary>
    public static string MalformedChunkedPost(Uri server, string path, string contentType = "application/x-www-form-urlencoded") =>
        $"POST {path} HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
        "ffffffff\r\nab\r\n0\r\n\r\n";
}
