using EcpayEvents.Ecpay;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Timeouts.Tests;

public sealed class SettingsTests
{
    private static async Task<string> StartFailureAsync(params string[] args)
    {
        await using var app = TimeoutsApp.Build(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None", .. args]);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        return e.Message;
    }

    [Fact]
    public async Task MissingSettingsFailAtStartNamingEachKey()
    {
        var message = await StartFailureAsync("--Ecpay:MerchantId=3002607");
        Assert.Contains("Database:ConnectionString", message);
        Assert.Contains("Ecpay:HashKey", message);
        Assert.Contains("Ecpay:HashIv", message);
        Assert.Contains("Sqs:QueueUrl", message);
    }

    [Fact]
    public async Task BadEcpaySettingsFailAtStartWithoutPrintingSecrets()
    {
        var stage = EcpayCredentials.Stage;
        var message = await StartFailureAsync("--Database:ConnectionString=Server=x;Password=db-secret", "--Sqs:QueueUrl=http://127.0.0.1:1/000000000000/q",
            $"--Ecpay:MerchantId={stage.MerchantId}", $"--Ecpay:HashKey={stage.HashKey}", $"--Ecpay:HashIv={stage.HashIv}",
            "--Ecpay:Environment=sandbox", "--Ecpay:Query:MaxRetries=-1", "--Ecpay:Query:AttemptTimeoutSeconds=30", "--Ecpay:Query:TotalTimeoutSeconds=10", "--Ecpay:Query:ThrottleCoolDownMinutes=-1");
        Assert.Contains("Ecpay:Query:ThrottleCoolDownMinutes must be a whole number from 0 to 1440", message);
        Assert.Contains("Ecpay:BaseUrl is required with Ecpay:Environment Sandbox", message);
        Assert.Contains("Ecpay:Query:MaxRetries must be a whole number ≥ 0", message);
        Assert.Contains("Ecpay:Query:TotalTimeoutSeconds must be at least AttemptTimeoutSeconds", message);
        Assert.DoesNotContain(stage.HashKey, message);
        Assert.DoesNotContain(stage.HashIv, message);
        Assert.DoesNotContain("db-secret", message);
    }
}
