using System.Text;

namespace EcpayEvents.Ecpay;

/// <summary>
/// The encoding CheckMacValue hashes: <c>WebUtility.UrlEncode</c> (UTF-8; space → '+'; ASCII letters, digits and
/// <c>-_.!*()</c> kept; every other byte as %XX) followed by lower-casing, written straight to bytes.
/// </summary>
internal static class EcpayUrlEncoding
{
    /// <summary>The most bytes one UTF-16 char can become: three UTF-8 bytes, each as "%xx".</summary>
    public const int MaxBytesPerChar = 9;

    // What each ASCII char becomes when it is not escaped (already lower-cased); 0 = escape it as %xx.
    private static readonly byte[] AsciiKept = BuildAsciiKept();

    private static ReadOnlySpan<byte> LowerHex => "0123456789abcdef"u8;

    /// <summary>The encoded, lower-cased text as a string (ASCII).</summary>
    public static string LowerCase(string text)
    {
        var bytes = new byte[checked(text.Length * MaxBytesPerChar)];
        var length = WriteLowerCase(text, bytes);
        return Encoding.ASCII.GetString(bytes, 0, length);
    }

    /// <summary>Writes <paramref name="text"/> encoded and lower-cased; returns the bytes written. The destination
    /// must hold <see cref="MaxBytesPerChar"/> bytes per char. A lone surrogate becomes U+FFFD, as Encoding.UTF8 writes it.</summary>
    public static int WriteLowerCase(ReadOnlySpan<char> text, Span<byte> destination)
    {
        Span<byte> utf8 = stackalloc byte[4];
        var written = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < 0x80)
            {
                var kept = AsciiKept[c];
                if (kept != 0)
                {
                    destination[written++] = kept;
                }
                else
                {
                    written += WritePercent((byte)c, destination[written..]);
                }
                continue;
            }
            Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed); // invalid → U+FFFD, one char consumed
            i += consumed - 1;
            var length = rune.EncodeToUtf8(utf8);
            for (var b = 0; b < length; b++)
            {
                written += WritePercent(utf8[b], destination[written..]);
            }
        }
        return written;
    }

    private static int WritePercent(byte value, Span<byte> destination)
    {
        destination[2] = LowerHex[value & 0xF];
        destination[1] = LowerHex[value >> 4];
        destination[0] = (byte)'%';
        return 3;
    }

    private static byte[] BuildAsciiKept()
    {
        var kept = new byte[128];
        for (var c = 0; c < 128; c++)
        {
            if (char.IsAsciiLetterOrDigit((char)c) || "-_.!*()".Contains((char)c))
            {
                kept[c] = (byte)char.ToLowerInvariant((char)c);
            }
        }
        kept[' '] = (byte)'+';
        return kept;
    }
}
