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

/// <summary>cognito-local signs with a published key: a production service must not trust such an issuer.</summary>
public sealed class ProductionIdentityGuardTests
{
    private static readonly string[] ProductionBase =
    [
        "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None",
        "--Database:ConnectionString=Server=x", "--Ecpay:Environment=production", "--Ecpay:MerchantId=3002607",
        "--Ecpay:HashKey=pwFHCqoQZGmho4w6", "--Ecpay:HashIv=EkRm7iFT261dpevs", "--Ecpay:ReturnUrl=https://pay.example.com/ecpay/return",
        "--PaymentsApi:PublicBaseUrl=https://pay.example.com", $"--PaymentsApi:LinkSigningKey={PaymentsApiHost.LinkSigningKey}",
        "--PaymentsApi:Cognito:ClientId=abc123", "--StepFunctions:StateMachineArn=arn:aws:states:ap-northeast-1:123456789012:stateMachine:payment-timeout",
    ];

    private static async Task<string?> StartProblemAsync(params string[] args)
    {
        await using var app = PaymentsApiApp.Build([.. ProductionBase, .. args]);
        try
        {
            await app.StartAsync();
            await app.StopAsync();
            return null;
        }
        catch (OptionsValidationException e)
        {
            return e.Message;
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:5095/local_2iDEzGOM", "must be https in production")]
    [InlineData("http://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_AbC123", "must be https in production")]
    [InlineData("https://idp.example.com/ap-northeast-1_AbC123", "must be an Amazon Cognito user pool")]
    [InlineData("https://cognito-idp.ap-northeast-1.amazonaws.com.evil.example/ap-northeast-1_AbC123", "must be an Amazon Cognito user pool")]
    [InlineData("https://cognito-idp.ap-northeast-1.amazonaws.com/us-east-1_AbC123", "must be an Amazon Cognito user pool")]
    [InlineData("", "PaymentsApi:Cognito:Issuer is required")]
    public async Task ProductionRefusesToStartWithANonCognitoIssuer(string issuer, string expected)
    {
        var message = await StartProblemAsync($"--PaymentsApi:Cognito:Issuer={issuer}");
        Assert.NotNull(message);
        Assert.Contains("PaymentsApi:Cognito:Issuer", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public async Task ProductionRefusesTheLocalConfirmShortcut()
    {
        var message = await StartProblemAsync("--PaymentsApi:Cognito:Issuer=https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_AbC123",
            "--PaymentsApi:Cognito:LocalConfirm=true", "--PaymentsApi:Cognito:UserPoolId=ap-northeast-1_AbC123");
        Assert.NotNull(message);
        Assert.Contains("PaymentsApi:Cognito:LocalConfirm", message);
    }

    [Fact]
    public async Task ProductionStartsWithARealUserPoolIssuer()
    {
        Assert.Null(await StartProblemAsync("--PaymentsApi:Cognito:Issuer=https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_AbC123"));
    }

    [Fact]
    public async Task ThePageLearnsOnlyPublicSignInSettingsAndNoLocalShortcutInProduction()
    {
        await using var app = PaymentsApiApp.Build([.. ProductionBase,
            "--PaymentsApi:Cognito:Issuer=https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_AbC123",
            "--PaymentsApi:Cognito:UserPoolId=ap-northeast-1_AbC123"]);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = EcpayEvents.Hosting.ServiceHost.BoundAddress(app) };
        var config = await http.GetStringAsync("/auth/config");
        Assert.Equal("""{"endpoint":"https://cognito-idp.ap-northeast-1.amazonaws.com/","clientId":"abc123","localConfirm":false}""", config);
        await app.StopAsync();
    }

    [Fact]
    public async Task TheLinkSigningKeyIsRequiredAndLongEnough()
    {
        await using var app = PaymentsApiApp.Build([.. ProductionBase.Where(a => !a.Contains("LinkSigningKey")),
            "--PaymentsApi:Cognito:Issuer=https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_AbC123", "--PaymentsApi:LinkSigningKey=c2hvcnQ="]);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("PaymentsApi:LinkSigningKey must be at least 32 bytes", e.Message);
        Assert.DoesNotContain("c2hvcnQ", e.Message); // never the value
    }
}
