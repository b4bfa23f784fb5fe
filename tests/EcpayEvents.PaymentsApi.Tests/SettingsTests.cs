using Microsoft.Extensions.Options;

namespace EcpayEvents.PaymentsApi.Tests;

public sealed class SettingsTests
{
    private static async Task<string> StartFailureAsync(params string[] args)
    {
        await using var app = PaymentsApiApp.Build(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None", .. args]);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        return e.Message;
    }

    [Fact]
    public async Task MissingSettingsFailAtStartNamingEachKey()
    {
        var message = await StartFailureAsync();
        Assert.Contains("Database:ConnectionString", message);
        Assert.Contains("Ecpay:ReturnUrl", message);
        Assert.Contains("PaymentsApi:PublicBaseUrl", message);
    }

    [Fact]
    public async Task ProductionNeedsCredentialsAndHttps()
    {
        var message = await StartFailureAsync("--Database:ConnectionString=Server=x", "--Ecpay:Environment=production",
            "--Ecpay:ReturnUrl=http://example.com/ecpay/return", "--PaymentsApi:PublicBaseUrl=https://pay.example.com");
        Assert.Contains("Ecpay:MerchantId", message);
        Assert.Contains("Ecpay:HashKey", message);
        Assert.Contains("Ecpay:ReturnUrl must be https", message);
        Assert.DoesNotContain("PaymentsApi:PublicBaseUrl", message);
    }

    [Fact]
    public async Task ExpiriesAndLimitsAreValidated()
    {
        var message = await StartFailureAsync("--Database:ConnectionString=Server=x", "--Ecpay:ReturnUrl=http://127.0.0.1:5081/ecpay/return",
            "--PaymentsApi:PublicBaseUrl=http://127.0.0.1:5080", "--PaymentsApi:Deposit:Expiry:Atm=90.00:00:00", "--PaymentsApi:Deposit:MaxAmount=0",
            "--PaymentsApi:Deposit:MerchantTradeNoPrefix=toolong");
        Assert.Contains("Expiry:Atm", message);
        Assert.Contains("MaxAmount", message);
        Assert.Contains("MerchantTradeNoPrefix", message);
    }

    [Fact]
    public async Task ACallbackUrlWithAQueryOfSeparatorsFailsAtStart()
    {
        // The URLs are signed inside the checkout form, where '&' and '=' separate fields.
        var message = await StartFailureAsync("--Database:ConnectionString=Server=x", "--Ecpay:ReturnUrl=http://127.0.0.1:5081/ecpay/return?k=v",
            "--Ecpay:PaymentInfoUrl=http://127.0.0.1:5081/ecpay/payment-info?a&b", "--PaymentsApi:PublicBaseUrl=http://127.0.0.1:5080");
        Assert.Contains("Ecpay:ReturnUrl contains '='", message);
        Assert.Contains("Ecpay:PaymentInfoUrl contains '&'", message);
    }
}
