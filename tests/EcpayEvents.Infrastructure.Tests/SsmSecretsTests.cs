using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;
using EcpayEvents.Hosting;
using Microsoft.Extensions.Configuration;
using Moq;

namespace EcpayEvents.Infrastructure.Tests;

// SSM cannot run here: the AWS endpoint is the one seam mocked.
public sealed class SsmSecretsTests
{
    [Fact]
    public void FillsEachNamedKeyWithTheDecryptedParameterValue()
    {
        var ssm = new Mock<IAmazonSimpleSystemsManagement>();
        ssm.Setup(s => s.GetParametersAsync(It.Is<GetParametersRequest>(r => r.WithDecryption == true), It.IsAny<CancellationToken>()))
           .ReturnsAsync(new GetParametersResponse
           {
               Parameters = [new Parameter { Name = "/app/key", Value = "secret-key" }, new Parameter { Name = "/app/db", Value = "Server=db" }],
               InvalidParameters = [],
           });
        var config = new ConfigurationManager();
        config.AddInMemoryCollection(new Dictionary<string, string?> { ["Ssm:Ecpay:HashKey"] = "/app/key", ["Ssm:Database:ConnectionString"] = "/app/db" });

        config.AddSsmSecrets(() => ssm.Object);

        Assert.Equal("secret-key", config["Ecpay:HashKey"]);
        Assert.Equal("Server=db", config["Database:ConnectionString"]);
    }

    [Fact]
    public void AMissingParameterStopsStartWithItsNameButNoValue()
    {
        var ssm = new Mock<IAmazonSimpleSystemsManagement>();
        ssm.Setup(s => s.GetParametersAsync(It.IsAny<GetParametersRequest>(), It.IsAny<CancellationToken>()))
           .ReturnsAsync(new GetParametersResponse { Parameters = [], InvalidParameters = ["/app/missing"] });
        var config = new ConfigurationManager();
        config.AddInMemoryCollection(new Dictionary<string, string?> { ["Ssm:Ecpay:HashIv"] = "/app/missing" });

        var error = Assert.Throws<InvalidOperationException>(() => config.AddSsmSecrets(() => ssm.Object));
        Assert.Contains("/app/missing", error.Message);
    }

    [Fact]
    public void WithoutAnSsmSectionNothingIsAsked()
    {
        var config = new ConfigurationManager();
        config.AddSsmSecrets(() => throw new InvalidOperationException("must not create a client"));
        Assert.Null(config["Ecpay:HashKey"]);
    }
}
