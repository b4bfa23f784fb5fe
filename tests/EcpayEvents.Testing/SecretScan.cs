using System.Text.RegularExpressions;

namespace EcpayEvents.Testing;

/// <summary>
/// Finds what must never be in a log line: the merchant's HashKey and HashIV, the database password,
/// bearer tokens and JWTs, and full card numbers (13–19 digits, a card brand's prefix, a valid Luhn
/// check digit; ECPay's own 16-digit TradeNo starts with the date, "2…", and is not a card prefix here).
/// </summary>
public static partial class SecretScan
{
    /// <summary>The literal secrets the test fixtures configure: ECPay's stage HashKey/HashIV and the local database password.</summary>
    public static IReadOnlyList<(string Name, string Value)> FixtureSecrets =>
    [
        ("HashKey", "pwFHCqoQZGmho4w6"),
        ("HashIV", "EkRm7iFT261dpevs"),
        ("database password", Environment.GetEnvironmentVariable("MARIADB_ROOT_PASSWORD") ?? "local-dev-only"),
    ];

    /// <summary>Each finding: what it is and a short excerpt with the secret masked.</summary>
    public static IReadOnlyList<string> Find(string text, IEnumerable<(string Name, string Value)>? secrets = null)
    {
        var found = new List<string>();
        foreach (var (name, value) in secrets ?? FixtureSecrets)
        {
            if (value.Length > 0 && text.Contains(value, StringComparison.OrdinalIgnoreCase)) found.Add($"{name} ({Excerpt(text, text.IndexOf(value, StringComparison.OrdinalIgnoreCase), value.Length)})");
        }
        foreach (Match m in PasswordAssignment().Matches(text)) found.Add($"a password in a connection string ({Excerpt(text, m.Index, m.Length)})");
        foreach (Match m in BearerToken().Matches(text)) found.Add($"a bearer token ({Excerpt(text, m.Index, m.Length)})");
        foreach (Match m in Jwt().Matches(text)) found.Add($"a JWT ({Excerpt(text, m.Index, m.Length)})");
        // Trace and span ids are random hex: now and then one is all digits, a card prefix and Luhn-valid.
        var withoutTraceIds = TraceIds().Replace(text, "");
        foreach (Match m in CardCandidate().Matches(withoutTraceIds))
        {
            var digits = new string(m.Value.Where(char.IsAsciiDigit).ToArray());
            if (digits.Length is >= 13 and <= 19 && CardPrefix().IsMatch(digits) && Luhn(digits))
                found.Add($"a card number ({Excerpt(withoutTraceIds, m.Index, m.Length)})");
        }
        return found;
    }

    /// <summary>Throws naming every finding in <paramref name="lines"/> (where: a label for the message).</summary>
    public static void AssertNone(string where, IEnumerable<string> lines)
    {
        var findings = lines.SelectMany(l => Find(l)).Distinct().ToList();
        if (findings.Count > 0) throw new InvalidOperationException($"secrets in {where}'s logs:\n" + string.Join("\n", findings.Take(20)));
    }

    private static bool Luhn(string digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i] - '0';
            if (i % 2 == 1) { d *= 2; if (d > 9) d -= 9; }
            sum += d;
        }
        return sum % 10 == 0;
    }

    private static string Excerpt(string text, int at, int length)
    {
        var start = Math.Max(0, at - 20);
        var before = text[start..at];
        return (before + new string('*', Math.Min(length, 8))).ReplaceLineEndings(" ");
    }

    [GeneratedRegex(@"(?i)\b(password|pwd)\s*=\s*[^;""\s]+")]
    private static partial Regex PasswordAssignment();

    [GeneratedRegex(@"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{8,}")]
    private static partial Regex BearerToken();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")]
    private static partial Regex Jwt();

    // The W3C trace-context ids our JSON log lines carry, as fields or as a traceparent value.
    [GeneratedRegex(@"""(?:TraceId|SpanId|ParentId)"":""[0-9a-f]{16,32}""|\b[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\b")]
    private static partial Regex TraceIds();

    // Not inside a longer letters-and-digits token: hex trace and span ids have digit runs that can pass Luhn.
    [GeneratedRegex(@"(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])")]
    private static partial Regex CardCandidate();

    // Visa, Mastercard (51–55), Amex, Discover, JCB, Diners, UnionPay.
    [GeneratedRegex(@"^(4|5[1-5]|3[47]|6011|65|64[4-9]|35(2[89]|[3-8][0-9])|30[0-5]|36|38|62)")]
    private static partial Regex CardPrefix();
}
