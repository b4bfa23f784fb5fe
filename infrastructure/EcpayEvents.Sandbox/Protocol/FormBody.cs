using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace EcpayEvents.Sandbox.Protocol;

/// <summary>
/// An <c>application/x-www-form-urlencoded</c> body as ECPay reads and writes it: fields in order, looked up by
/// exact key. Strict: a bad <c>%</c>, invalid UTF-8, an empty or repeated key make the body unreadable.
/// </summary>
public sealed class FormBody
{
    private static readonly UTF8Encoding Utf8 = new(false, throwOnInvalidBytes: true);

    private FormBody(List<KeyValuePair<string, string>> fields) => Fields = fields;

    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    public string? this[string key] => Fields.FirstOrDefault(f => f.Key == key) is { Key: not null } f ? f.Value : null;

    public static bool TryRead(string body, [NotNullWhen(true)] out FormBody? form, [NotNullWhen(false)] out string? problem)
    {
        form = null;
        var fields = new List<KeyValuePair<string, string>>();
        foreach (var pair in body.Length == 0 ? [] : body.Split('&'))
        {
            var at = pair.IndexOf('=');
            if (at <= 0) { problem = $"'{Clip(pair)}' is not key=value."; return false; }
            if (!TryDecode(pair[..at], out var key) || !TryDecode(pair[(at + 1)..], out var value)) { problem = $"'{Clip(pair)}' is not valid percent-encoded UTF-8."; return false; }
            if (key.Length == 0 || fields.Any(f => f.Key == key)) { problem = $"Key '{Clip(key)}' is empty or repeated."; return false; }
            fields.Add(new(key, value));
        }
        form = new FormBody(fields);
        problem = null;
        return true;
    }

    /// <summary>Keys and values URL-encoded the way ECPay does.</summary>
    public static string Write(IEnumerable<KeyValuePair<string, string>> fields) =>
        string.Join('&', fields.Select(f => EcpayUrlEncoding.Encode(f.Key) + "=" + EcpayUrlEncoding.Encode(f.Value)));

    /// <summary>Keys and values exactly as given (an answer whose values the signer saw unencoded).</summary>
    public static string WriteUnencoded(IEnumerable<KeyValuePair<string, string>> fields) =>
        string.Join('&', fields.Select(f => f.Key + "=" + f.Value));

    private static bool TryDecode(string text, out string decoded)
    {
        decoded = "";
        var bytes = new List<byte>();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '%')
            {
                if (i + 2 >= text.Length || !byte.TryParse(text.AsSpan(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b)) return false;
                bytes.Add(b);
                i += 2;
            }
            else if (text[i] == '+') bytes.Add((byte)' ');
            else if (char.IsSurrogate(text[i]))
            {
                if (i + 1 >= text.Length || !char.IsSurrogatePair(text[i], text[i + 1])) return false;
                bytes.AddRange(Encoding.UTF8.GetBytes(text.Substring(i++, 2)));
            }
            else bytes.AddRange(Encoding.UTF8.GetBytes(text[i].ToString()));
        }
        try { decoded = Utf8.GetString(bytes.ToArray()); return true; }
        catch (DecoderFallbackException) { return false; }
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
