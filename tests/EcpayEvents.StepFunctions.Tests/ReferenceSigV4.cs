using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>Access key, secret and (for temporary credentials) session token to sign with.</summary>
internal sealed record SigV4Credentials(string AccessKeyId, string SecretAccessKey, string? SessionToken = null)
{
    // Keeps the secret out of logs and exception messages.
    public override string ToString() => $"SigV4Credentials {{ AccessKeyId = {AccessKeyId} }}";
}

/// <summary>The pieces of one signature, kept so tests can compare each step with AWS's test suite.</summary>
internal sealed record SigV4Signature(
    string AmzDate,
    string CanonicalRequest,
    string StringToSign,
    string Signature,
    string Authorization);

/// <summary>
/// An independent SigV4 (header form) written from the AWS documentation "Create a signed AWS API
/// request", exposing every intermediate step. The client signs with AWSSDK.Core's signer
/// (<see cref="EcpayEvents.Messaging.StepFunctions.SigV4"/>); this is the test oracle it is compared
/// with on requests AWS published no example for. Itself checked against AWS's SigV4 test suite.
/// </summary>
internal static class ReferenceSigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>
    /// Signs a request. <paramref name="headers"/> are the headers to sign besides <c>host</c>
    /// (taken from <paramref name="uri"/>) and <c>x-amz-date</c>/<c>x-amz-security-token</c> (added here);
    /// send those headers with the request exactly as given.
    /// </summary>
    public static SigV4Signature Sign(
        string method,
        Uri uri,
        IEnumerable<KeyValuePair<string, string>> headers,
        ReadOnlySpan<byte> body,
        SigV4Credentials credentials,
        string region,
        string service,
        DateTimeOffset timestamp)
    {
        var amzDate = timestamp.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate[..8];

        var all = new List<KeyValuePair<string, string>>(headers)
        {
            new("host", uri.Authority),
            new("x-amz-date", amzDate),
        };
        if (!string.IsNullOrEmpty(credentials.SessionToken))
        {
            all.Add(new("x-amz-security-token", credentials.SessionToken));
        }

        // Lower-case names, sorted; repeated names joined by commas; values trimmed, inner spaces collapsed.
        var canonicalHeaders = all
            .GroupBy(h => h.Key.ToLowerInvariant(), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Value: string.Join(',', g.Select(h => CollapseSpaces(h.Value)))))
            .ToList();
        var signedHeaders = string.Join(';', canonicalHeaders.Select(h => h.Name));

        var canonicalRequest = string.Join('\n',
            method.ToUpperInvariant(),
            CanonicalPath(uri),
            CanonicalQuery(uri),
            string.Concat(canonicalHeaders.Select(h => $"{h.Name}:{h.Value}\n")),
            signedHeaders,
            Hex(SHA256.HashData(body)));

        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = string.Join('\n',
            Algorithm,
            amzDate,
            scope,
            Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))));

        var key = SigningKey(credentials.SecretAccessKey, date, region, service);
        var signature = Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        var authorization = $"{Algorithm} Credential={credentials.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
        return new SigV4Signature(amzDate, canonicalRequest, stringToSign, signature, authorization);
    }

    /// <summary>kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").</summary>
    public static byte[] SigningKey(string secretAccessKey, string date, string region, string service)
    {
        var key = Encoding.UTF8.GetBytes("AWS4" + secretAccessKey);
        foreach (var part in new[] { date, region, service, "aws4_request" })
        {
            key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        }
        return key;
    }

    private static string CanonicalPath(Uri uri)
    {
        var path = uri.AbsolutePath;
        if (path.Length == 0)
        {
            return "/";
        }
        // Each segment of the decoded path, RFC 3986-encoded once (the services we call use "/" only).
        return string.Join('/', path.Split('/').Select(s => Encode(Uri.UnescapeDataString(s))));
    }

    private static string CanonicalQuery(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return "";
        }
        return string.Join('&', query
            .Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                var i = pair.IndexOf('=');
                var name = i < 0 ? pair : pair[..i];
                var value = i < 0 ? "" : pair[(i + 1)..];
                return (Name: Encode(Unescape(name)), Value: Encode(Unescape(value)));
            })
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={p.Value}"));

        static string Unescape(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));
    }

    /// <summary>RFC 3986: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded, in upper-case hex.</summary>
    private static string Encode(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return builder.ToString();
    }

    private static string CollapseSpaces(string value)
    {
        var builder = new StringBuilder(value.Length);
        var previousSpace = false;
        foreach (var c in value.Trim())
        {
            var space = c == ' ';
            if (!(space && previousSpace))
            {
                builder.Append(c);
            }
            previousSpace = space;
        }
        return builder.ToString();
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
