using System.Text;
using Microsoft.AspNetCore.Http;

namespace EcpayEvents.Hosting;

/// <summary>Reads a small request body as text: at most a given number of bytes, and only if they are UTF-8 throughout.</summary>
public static class StrictUtf8Body
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The text; or (null, true) when the body is over <paramref name="maxBytes"/>; or (null, false) when it is not UTF-8.</summary>
    public static async Task<(string? Text, bool TooLarge)> ReadAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > maxBytes) return (null, true);
        var buffer = new byte[maxBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(total), ct)) > 0)
            total += read;
        if (total > maxBytes) return (null, true);
        try
        {
            return (StrictUtf8.GetString(buffer, 0, total), false);
        }
        catch (DecoderFallbackException)
        {
            return (null, false);
        }
    }
}
