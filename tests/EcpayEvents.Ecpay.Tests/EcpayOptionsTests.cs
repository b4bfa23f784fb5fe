using System.ComponentModel.DataAnnotations;

namespace EcpayEvents.Ecpay.Tests;

public sealed class EcpayOptionsTests
{
    private static EcpayOptions Options(string environment, string? baseUrl = null)
        => new() { MerchantId = "3002607", HashKey = "k", HashIv = "v", Environment = environment, BaseUrl = baseUrl };

    private static List<string> Problems(EcpayOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results.Select(r => r.ErrorMessage ?? "").ToList();
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("production")]
    [InlineData("PRODUCTION")]
    [InlineData(" Production ")]
    public void ProductionInAnyCaseTalksToPaymentEcpayComTw(string environment)
    {
        var options = Options(environment);
        Assert.True(options.IsProduction);
        Assert.Empty(Problems(options));
        var endpoints = options.Endpoints();
        Assert.Same(EcpayUrls.Production, endpoints);
        Assert.Equal("https://payment.ecpay.com.tw/Cashier/AioCheckOut/V5", endpoints.CheckoutUrl.AbsoluteUri);
        Assert.Equal("https://payment.ecpay.com.tw/Cashier/QueryTradeInfo/V5", endpoints.QueryTradeInfoUrl.AbsoluteUri);
    }

    [Theory]
    [InlineData("Stage")]
    [InlineData("stage")]
    [InlineData("STAGE")]
    [InlineData("")]
    [InlineData("  ")]
    public void StageIsTheDefault(string environment)
    {
        var options = Options(environment);
        Assert.False(options.IsProduction);
        Assert.Empty(Problems(options));
        var endpoints = options.Endpoints();
        Assert.Equal("https://payment-stage.ecpay.com.tw/Cashier/AioCheckOut/V5", endpoints.CheckoutUrl.AbsoluteUri);
        Assert.Equal("https://payment-stage.ecpay.com.tw/Cashier/QueryTradeInfo/V5", endpoints.QueryTradeInfoUrl.AbsoluteUri);
    }

    [Fact]
    public void AnUnsetEnvironmentIsStage()
    {
        var options = new EcpayOptions { MerchantId = "3002607", HashKey = "k", HashIv = "v" };
        Assert.Same(EcpayUrls.Stage, options.Endpoints());
        Assert.False(options.IsProduction);
    }

    [Theory]
    [InlineData("Stage")]
    [InlineData("Production")]
    [InlineData("Sandbox")]
    public void BaseUrlOverridesTheEnvironment(string environment)
    {
        var endpoints = Options(environment, "http://127.0.0.1:5090/prefix/").Endpoints();
        Assert.Equal("http://127.0.0.1:5090/prefix/Cashier/AioCheckOut/V5", endpoints.CheckoutUrl.AbsoluteUri);
        Assert.Equal("http://127.0.0.1:5090/prefix/Cashier/QueryTradeInfo/V5", endpoints.QueryTradeInfoUrl.AbsoluteUri);
    }

    [Fact]
    public void SandboxNeedsABaseUrl()
    {
        var options = Options("sandbox");
        Assert.Contains("Ecpay:BaseUrl is required with Ecpay:Environment Sandbox.", Problems(options));
        Assert.Throws<InvalidOperationException>(() => options.Endpoints());
    }

    [Theory]
    [InlineData("prod")]
    [InlineData("live")]
    public void AnUnknownEnvironmentIsAProblemNamingTheKey(string environment)
        => Assert.Contains(Problems(Options(environment)), p => p.StartsWith("Ecpay:Environment must be Stage, Production or Sandbox", StringComparison.Ordinal));

    [Fact]
    public void ToStringNeverShowsTheSecrets()
    {
        var text = new EcpayOptions { MerchantId = "3002607", HashKey = "pwFHCqoQZGmho4w6", HashIv = "EkRm7iFT261dpevs" }.ToString();
        Assert.DoesNotContain("pwFHCqoQZGmho4w6", text);
        Assert.DoesNotContain("EkRm7iFT261dpevs", text);
    }
}
