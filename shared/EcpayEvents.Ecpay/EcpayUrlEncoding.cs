using System.Runtime.InteropServices;
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

    // What each ASCII char becomes when it is not escaped (letters lower-cased, space '+'); 0 = escape it as %xx.
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
        var asciiKept = AsciiKept;
        var written = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < 0x80)
            {
                var kept = asciiKept[c];
                if (kept != 0)
                {
                    destination[written++] = kept;
                }
                else
                {
                    written = WritePercent((byte)c, destination, written);
                }
                continue;
            }
            Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed); // invalid → U+FFFD, one char consumed
            i += consumed - 1;
            var scratch = 0u; // four bytes on the stack without a stackalloc (which would cost a stack cookie per call)
            var utf8 = MemoryMarshal.AsBytes(new Span<uint>(ref scratch));
            var length = rune.EncodeToUtf8(utf8);
            for (var b = 0; b < length; b++)
            {
                written = WritePercent(utf8[b], destination, written);
            }
        }
        return written;
    }

    // "%xx" at destination[at..]; returns the position after it.
    private static int WritePercent(byte value, Span<byte> destination, int at)
    {
        destination[at + 2] = LowerHex[value & 0xF];
        destination[at + 1] = LowerHex[value >> 4];
        destination[at] = (byte)'%';
        return at + 3;
    }

    private static byte[] BuildAsciiKept()
    {
        var kept = new byte[128];
        foreach (var c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!*()")
        {
            kept[c] = (byte)char.ToLowerInvariant(c);
        }
        kept[' '] = (byte)'+';
        return kept;
    }
}
