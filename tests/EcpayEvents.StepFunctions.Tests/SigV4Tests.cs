using System.Text;
using EcpayEvents.Messaging.StepFunctions;

namespace EcpayEvents.StepFunctions.Tests;

// Expected values are AWS's published SigV4 test suite (aws-signing-test-suite/v4, as shipped with
// the AWS Common Runtime's aws-c-auth) and the signing-key example of the AWS SigV4 documentation.
public sealed class SigV4Tests
{
    private static readonly SigV4Credentials Example = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    private static readonly DateTimeOffset SuiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);
    private static readonly Uri Host = new("https://example.amazonaws.com/");

    private static SigV4Signature Sign(string method, Uri uri, KeyValuePair<string, string>[]? headers = null, string body = "", SigV4Credentials? credentials = null) =>
        SigV4.Sign(method, uri, headers ?? [], Encoding.UTF8.GetBytes(body), credentials ?? Example, "us-east-1", "service", SuiteTime);

    [Fact]
    public void DerivesTheDocumentedSigningKey()
    {
        var key = SigV4.SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam");
        Assert.Equal("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d", Convert.ToHexStringLower(key));
    }

    [Fact]
    public void GetVanilla()
    {
        var s = Sign("GET", Host);
        Assert.Equal("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", s.CanonicalRequest);
        Assert.Equal("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", s.StringToSign);
        Assert.Equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", s.Signature);
        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", s.Authorization);
        Assert.Equal("20150830T123600Z", s.AmzDate);
    }

    [Fact]
    public void PostVanilla() =>
        Assert.Equal("5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", Sign("POST", Host).Signature);

    [Fact]
    public void GetVanillaQueryOrderKeyCase()
    {
        var s = Sign("GET", new Uri("https://example.amazonaws.com/?Param2=value2&Param1=value1"));
        Assert.Equal("Param1=value1&Param2=value2", s.CanonicalRequest.Split('\n')[2]);
        Assert.Equal("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", s.Signature);
    }

    [Fact]
    public void GetHeaderValueTrim()
    {
        var s = Sign("GET", Host, [new("My-Header1", " value1"), new("My-Header2", " \"a   b   c\"")]);
        Assert.Contains("my-header1:value1\nmy-header2:\"a b c\"\n", s.CanonicalRequest);
        Assert.Equal("acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736", s.Signature);
    }

    [Fact]
    public void GetUtf8()
    {
        var s = Sign("GET", new Uri("https://example.amazonaws.com/\u1234"));
        Assert.Equal("/%E1%88%B4", s.CanonicalRequest.Split('\n')[1]);
        Assert.Equal("8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85", s.Signature);
    }

    [Fact]
    public void GetVanillaWithSessionToken()
    {
        var s = Sign("GET", Host, credentials: Example with { SessionToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267" });
        Assert.Contains("SignedHeaders=host;x-amz-date;x-amz-security-token,", s.Authorization);
        Assert.Equal("07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8", s.Signature);
    }

    [Fact]
    public void PostXWwwFormUrlencodedSignsTheBody()
    {
        var s = Sign("POST", Host,
            [
                new("Content-Type", "application/x-www-form-urlencoded"),
                new("Content-Length", "13"),
                new("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
            ],
            body: "Param1=value1");
        Assert.EndsWith("\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e", s.CanonicalRequest);
        Assert.Equal("d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b", s.Signature);
    }

    [Fact]
    public void SignsTheHostWithItsPortWhenNotTheDefault()
    {
        var s = SigV4.Sign("POST", new Uri("http://127.0.0.1:4584/"), [], [], Example, "us-east-1", "states", SuiteTime);
        Assert.Contains("\nhost:127.0.0.1:4584\n", s.CanonicalRequest);
    }

    [Fact]
    public void CredentialsDoNotPrintTheSecret() =>
        Assert.DoesNotContain("EXAMPLEKEY", Example.ToString());
}
