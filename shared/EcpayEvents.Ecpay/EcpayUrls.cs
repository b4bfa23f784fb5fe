namespace EcpayEvents.Ecpay;

/// <summary>ECPay's URLs (or the local sandbox's, which mimics stage): the base, checkout and QueryTradeInfo.</summary>
public sealed record EcpayUrls
{
    private EcpayUrls(Uri baseUrl)
    {
        BaseUrl = baseUrl;
        CheckoutUrl = new Uri(baseUrl, "Cashier/AioCheckOut/V5");
        QueryTradeInfoUrl = new Uri(baseUrl, "Cashier/QueryTradeInfo/V5");
    }

    public static EcpayUrls Stage { get; } = new(new Uri("https://payment-stage.ecpay.com.tw/"));

    public static EcpayUrls Production { get; } = new(new Uri("https://payment.ecpay.com.tw/"));

    /// <summary>A custom base such as the local sandbox, e.g. <c>http://127.0.0.1:5090</c>; any path is kept as a prefix.</summary>
    public static EcpayUrls FromBaseUrl(string baseUrl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(baseUrl);
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"'{baseUrl}' is not an absolute http(s) URL.", nameof(baseUrl));
        }
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new ArgumentException($"'{baseUrl}' must not have a query or fragment.", nameof(baseUrl));
        }
        return new EcpayUrls(new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/"));
    }

    public Uri BaseUrl { get; }

    /// <summary><c>{base}/Cashier/AioCheckOut/V5</c>.</summary>
    public Uri CheckoutUrl { get; }

    /// <summary><c>{base}/Cashier/QueryTradeInfo/V5</c>.</summary>
    public Uri QueryTradeInfoUrl { get; }

    public override string ToString() => BaseUrl.ToString();
}
