using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;

namespace EcpayEvents.Messaging.StepFunctions;

/// <summary>
/// AWS Signature Version 4 (header form) through AWSSDK.Core's standalone <see cref="AWSSigV4Signer"/>, which signs any
/// HTTP request (AWSSDK.StepFunctions is not available). The payload hash is signed and sent as <c>x-amz-content-sha256</c>.
/// </summary>
public static class SigV4
{
    /// <summary>
    /// Signs a request. <paramref name="headers"/> are the headers to sign besides <c>host</c> (taken
    /// from <paramref name="uri"/>); send them exactly as given, plus every header of the answer
    /// (<c>Authorization</c>, <c>X-Amz-Date</c>, <c>X-Amz-Content-SHA256</c> and, for temporary
    /// credentials, <c>x-amz-security-token</c>).
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> SignAsync(
        HttpMethod method,
        Uri uri,
        IEnumerable<KeyValuePair<string, string>> headers,
        byte[] body,
        AWSCredentials credentials,
        string region,
        string service,
        DateTimeOffset timestamp,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var request = new AWSSigningRequest { HttpMethod = method, RequestUri = uri, Content = body };
        foreach (var (name, value) in headers)
        {
            request.Headers[name] = value;
        }
        var result = await AWSSigV4Signer.SignAsync(request, new AWSSigV4Parameters
        {
            Credentials = credentials,
            Region = RegionEndpoint.GetBySystemName(region),
            Service = service,
            SignPayload = true,
            SignedAt = timestamp.UtcDateTime,
        }, cancellationToken);
        return new Dictionary<string, string>(result.Headers, StringComparer.OrdinalIgnoreCase);
    }
}
