using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using EcpayEvents.Ecpay;
using Microsoft.Extensions.Options;

namespace EcpayEvents.PaymentsApi;

/// <summary>
/// Security headers on every answer: HTML gets a CSP that runs exactly the pages' own inline blocks (hashed at start
/// from the trusted sources, never from a response) and cannot be framed; everything gets nosniff and no referrer
/// (checkout links must not leak to other sites).
/// </summary>
public sealed partial class SecurityHeaders
{
    /// <summary>The policy of every HTML answer.</summary>
    public string HtmlPolicy { get; }

    /// <summary>The policy of every other answer (JSON, text): nothing runs, nothing frames it.</summary>
    public const string OtherPolicy = "default-src 'none'; frame-ancestors 'none'";

    public SecurityHeaders(PaymentsApiSettings settings, IOptions<HttpSurfaceOptions> surface)
    {
        var scripts = InlineBlocks(Pages.Index, "script").Append(Pages.OrderResultScript).Append(CheckoutForm.AutoSubmitScript);
        var styles = InlineBlocks(Pages.Index, "style").Concat(InlineBlocks(Pages.Style, "style"));
        var ecpay = settings.Ecpay.Endpoints().CheckoutUrl.GetLeftPart(UriPartial.Authority);
        // The page signs in by calling the user pool's API from the browser.
        var cognito = settings.PaymentsApi.Cognito.EffectiveEndpoint is { Length: > 0 } e ? new Uri(e).GetLeftPart(UriPartial.Authority) : null;
        string[] connect = ["'self'", .. surface.Value.ConnectSources.Select(s => s.TrimEnd('/')), .. cognito is null ? [] : new[] { cognito }];
        HtmlPolicy = string.Join("; ",
            "default-src 'none'",
            "script-src 'self' " + Sources(scripts), // 'self': /session.js
            "style-src " + Sources(styles),
            "connect-src " + string.Join(' ', connect.Distinct()),
            "img-src 'self'",
            "form-action 'self' " + ecpay,
            "frame-ancestors 'none'",
            "base-uri 'none'");
    }

    public void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        var html = response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true;
        headers.ContentSecurityPolicy = html ? HtmlPolicy : OtherPolicy;
        if (html) headers.XFrameOptions = "DENY"; // for browsers that predate frame-ancestors
    }

    /// <summary>
    /// The CSP source of an inline block: 'sha256-…' of its text as the browser hashes it — after HTML parsing,
    /// which turns CR LF and CR into LF (a checkout with CR LF line endings must not break the pages).
    /// </summary>
    public static string HashSource(string block) =>
        $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(block.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n'))))}'";

    /// <summary>The text of every attribute-less &lt;script&gt; or &lt;style&gt; block in trusted HTML.</summary>
    public static IEnumerable<string> InlineBlocks(string html, string tag) =>
        (tag == "script" ? ScriptBlock() : StyleBlock()).Matches(html).Select(m => m.Groups[1].Value);

    private static string Sources(IEnumerable<string> blocks) => string.Join(' ', blocks.Select(HashSource).Distinct());

    [GeneratedRegex("<script>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ScriptBlock();

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex StyleBlock();
}
