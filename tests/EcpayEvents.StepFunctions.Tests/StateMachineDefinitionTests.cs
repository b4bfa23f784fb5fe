using System.Diagnostics;
using System.Text.Json.Nodes;
using EcpayEvents.Testing;

namespace EcpayEvents.StepFunctions.Tests;

public sealed class StateMachineDefinitionTests
{
    private static string DefinitionPath => Path.Combine(RepoPaths.Root, "statemachine", "payment-timeout.asl.json");

    private static JsonObject Definition => JsonNode.Parse(File.ReadAllText(DefinitionPath))!.AsObject();

    [Fact]
    public void PassesAslValidator()
    {
        var (exitCode, output) = Validate(DefinitionPath);
        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public void AslValidatorRejectsABrokenCopy()
    {
        // Proves the check above can fail: a Retry with a non-numeric BackoffRate and a dangling Next.
        var broken = Definition;
        broken["States"]!["Reconcile"]!["Retry"]![0]!["BackoffRate"] = "fast";
        broken["States"]!["Reconcile"]!["Next"] = "NoSuchState";
        var file = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.asl.json");
        File.WriteAllText(file, broken.ToJsonString());
        try
        {
            var (exitCode, output) = Validate(file);
            Assert.True(exitCode != 0, output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ReconcileRetriesLongEnoughToOutlastAnEcpayOutageWithJitterThenGoesToNeedsReview()
    {
        var reconcile = Definition["States"]!["Reconcile"]!;
        // One retrier on States.ALL: behind Lambda Web Adapter the error name is the adapter's, never ours.
        var retry = Assert.Single(reconcile["Retry"]!.AsArray())!;
        Assert.Equal("States.ALL", Assert.Single(retry["ErrorEquals"]!.AsArray())!.GetValue<string>());
        Assert.Contains("Lambda Web Adapter", reconcile["Comment"]!.GetValue<string>());
        var interval = retry["IntervalSeconds"]!.GetValue<int>();
        var backoff = retry["BackoffRate"]!.GetValue<double>();
        var attempts = retry["MaxAttempts"]!.GetValue<int>();
        var maxDelay = retry["MaxDelaySeconds"]!.GetValue<int>();
        Assert.Equal("FULL", retry["JitterStrategy"]!.GetValue<string>());
        Assert.InRange(interval, 30, 60);
        Assert.Equal(2, backoff);
        Assert.InRange(attempts, 6, 10);
        Assert.True(maxDelay >= 900, "MaxDelaySeconds must allow waits of 15 min");
        // Without jitter the retries span more than ECPay's ~30 min 403 block (FULL jitter halves it on average), and stay bounded.
        var total = Enumerable.Range(0, attempts).Sum(i => Math.Min(interval * Math.Pow(backoff, i), maxDelay));
        Assert.InRange(total, 2 * 30 * 60, 2 * 60 * 60);

        var fallback = Assert.Single(reconcile["Catch"]!.AsArray())!;
        Assert.Equal("NeedsReview", fallback["Next"]!.GetValue<string>());
        Assert.Equal("$.error", fallback["ResultPath"]!.GetValue<string>());
        var needsReview = Definition["States"]!["NeedsReview"]!;
        Assert.Equal("Fail", needsReview["Type"]!.GetValue<string>());
        Assert.Equal("$.error.Error", needsReview["ErrorPath"]!.GetValue<string>());
        Assert.Equal("$.error.Cause", needsReview["CausePath"]!.GetValue<string>());
    }

    [Fact]
    public void ReconcileGetsThePaymentAndTheExecutionName()
    {
        var parameters = Definition["States"]!["Reconcile"]!["Parameters"]!.AsObject();
        Assert.Equal("$$.Execution.Name", parameters["executionName.$"]!.GetValue<string>());
        Assert.Equal(["transactionId.$", "merchantTradeNo.$", "expiresAt.$", "executionName.$", "confirmCredit"], parameters.Select(p => p.Key));
        // This definition reads the confirmed/unconfirmed answers; an execution of an older one does not say so.
        Assert.True(parameters["confirmCredit"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData(EcpayEvents.Payments.Timeouts.ReconcileOutcome.Confirmed, "Confirmed")]
    [InlineData(EcpayEvents.Payments.Timeouts.ReconcileOutcome.Unconfirmed, "Unconfirmed")]
    public void ACompletedPaymentsConfirmationSucceedsInAStateOfItsOwn(string outcome, string state)
    {
        var states = Definition["States"]!;
        var choice = states["DecideOutcome"]!["Choices"]!.AsArray().Single(c => c!["StringEquals"]?.GetValue<string>() == outcome)!;
        Assert.Equal(state, choice["Next"]!.GetValue<string>());
        Assert.Equal("Succeed", states[state]!["Type"]!.GetValue<string>());
    }

    [Fact]
    public void PaidWaitsForSettlementAndTheLoopIsBounded()
    {
        var states = Definition["States"]!;
        var choices = states["DecideOutcome"]!["Choices"]!.AsArray();
        // The paid rules, in order: the first check, the bound, every further check.
        var paid = choices.Where(c => IsPaid(c!) || c!["And"]?.AsArray().Any(x => IsPaid(x!)) == true).ToList();
        Assert.Equal(["FirstSettlementCheck", "PaidButNotSettled", "NextSettlementCheck"], paid.Select(c => c!["Next"]!.GetValue<string>()));
        var bound = paid[1]!["And"]!.AsArray().Single(c => c!["NumericGreaterThanEquals"] is not null)!;
        Assert.Equal("$.settlement.checks", bound["Variable"]!.GetValue<string>());
        Assert.InRange(bound["NumericGreaterThanEquals"]!.GetValue<int>(), 2, 10);
        Assert.Equal("NeedsReview", states["PaidButNotSettled"]!["Next"]!.GetValue<string>());
        var wait = states["WaitForSettlement"]!;
        Assert.InRange(wait["Seconds"]!.GetValue<int>(), 60, 120);
        Assert.Equal("Reconcile", wait["Next"]!.GetValue<string>());
    }

    private static bool IsPaid(JsonNode condition) =>
        condition["Variable"]?.GetValue<string>() == "$.reconcile.outcome" && condition["StringEquals"]?.GetValue<string>() == "paid";

    [Fact]
    public void AbandonedSucceedsInNoSuchPayment()
    {
        var states = Definition["States"]!;
        var abandoned = states["DecideOutcome"]!["Choices"]!.AsArray().Single(c => c!["StringEquals"]?.GetValue<string>() == EcpayEvents.Payments.Timeouts.ReconcileOutcome.Abandoned)!;
        Assert.Equal("NoSuchPayment", abandoned["Next"]!.GetValue<string>());
        Assert.Equal("Succeed", states["NoSuchPayment"]!["Type"]!.GetValue<string>());
    }

    [Fact]
    public void ReconcileResourceIsThePlaceholderTheSamTemplateSubstitutes()
    {
        Assert.Equal("${ReconcileFunctionArn}", Definition["States"]!["Reconcile"]!["Resource"]!.GetValue<string>());
        var template = Path.Combine(RepoPaths.Root, "template.yaml");
        if (File.Exists(template))
        {
            Assert.Contains("ReconcileFunctionArn:", File.ReadAllText(template));
        }
    }

    [Fact]
    public void WaitsOnTheInputsExpiry()
    {
        var wait = Definition["States"]!["WaitUntilExpiry"]!;
        Assert.Equal("$.expiresAt", wait["TimestampPath"]!.GetValue<string>());
        Assert.Equal("WaitUntilExpiry", Definition["StartAt"]!.GetValue<string>());
    }

    private static (int ExitCode, string Output) Validate(string file)
    {
        RepoPaths.EnsureNpmPackages();
        var psi = new ProcessStartInfo(RepoPaths.Node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.LocalStack,
        };
        foreach (var a in new[] { Path.Combine(RepoPaths.LocalStack, "node_modules", "asl-validator", "dist", "bin", "asl-validator.js"), "--json-path", file })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }
}
