using System.Text.Json;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>Reading our error out of a Step Functions error and cause, whatever wraps it.</summary>
public sealed class TaskFailureTests
{
    private const string Adapter = "&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>";
    private const string Ours = """{"errorType":"Reconcile.EcpayUnavailable","errorMessage":"QueryTradeInfo: timed out: 5 s"}""";

    // What Lambda Web Adapter 1.0.0 puts in the Lambda error's message, and what Step Functions makes the cause.
    private static string AdapterMessage(int status, string body) => $$"""{"statusCode":{{status}},"body":{{JsonSerializer.Serialize(body)}}}""";
    private static string LambdaCause(string errorMessage) => JsonSerializer.Serialize(new Dictionary<string, string> { ["errorType"] = Adapter, ["errorMessage"] = errorMessage });

    [Fact]
    public void UnwrapsOurErrorFromBehindLambdaWebAdapter()
    {
        var failure = TaskFailure.Unwrap(Adapter, LambdaCause(AdapterMessage(503, Ours)));
        Assert.Equal(new TaskFailure("Reconcile.EcpayUnavailable", "QueryTradeInfo: timed out: 5 s", 503), failure);
        Assert.Equal("Reconcile.EcpayUnavailable (HTTP 503): QueryTradeInfo: timed out: 5 s", failure.ToString());
    }

    [Fact]
    public void ABodyThatIsNotOursKeepsTheAdaptersErrorAndTheBodyAsMessage() =>
        Assert.Equal(new TaskFailure(Adapter, "<html>Bad Gateway</html>", 502), TaskFailure.Unwrap(Adapter, LambdaCause(AdapterMessage(502, "<html>Bad Gateway</html>"))));

    [Fact]
    public void ALambdaErrorWithoutTheAdaptersMessageIsTakenAsItIs() =>
        Assert.Equal(new TaskFailure(Adapter, "client error (Connect)", null), TaskFailure.Unwrap(Adapter, LambdaCause("client error (Connect)")));

    [Fact]
    public void OurBodyAsTheCauseItselfIsRead() =>
        Assert.Equal(new TaskFailure("Reconcile.EcpayUnavailable", "QueryTradeInfo: timed out: 5 s", null), TaskFailure.Unwrap("Reconcile.EcpayUnavailable", Ours));

    [Theory]
    [InlineData("States.Timeout", null)]
    [InlineData("Reconcile.UnexpectedOutcome", "{\"outcome\":\"refunded\"}")]
    [InlineData("Reconcile.PaidButNotSettled", "ECPay says EE1 is paid, but after 5 checks the transaction is still not settled")]
    [InlineData("Lambda.Unknown", "{not json")]
    public void AnythingElseIsTheErrorAndCauseAsGiven(string error, string? cause) =>
        Assert.Equal(new TaskFailure(error, cause, null), TaskFailure.Unwrap(error, cause));

    [Fact]
    public void AStatusCodeThatIsNotANumberIsNotTheAdapters()
    {
        var message = """{"statusCode":"503","body":"x"}""";
        Assert.Equal(new TaskFailure(Adapter, message, null), TaskFailure.Unwrap(Adapter, LambdaCause(message)));
    }
}
