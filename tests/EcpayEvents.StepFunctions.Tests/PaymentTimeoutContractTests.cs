using System.Text.Json;
using System.Text.Json.Nodes;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Testing;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>statemachine/payment-timeout.asl.json uses exactly the names of PaymentTimeoutContract.cs.</summary>
public sealed class PaymentTimeoutContractTests
{
    private static readonly JsonObject States = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "statemachine", "payment-timeout.asl.json")))!["States"]!.AsObject();

    private static readonly DateTimeOffset At = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static string[] JsonNames<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonNode.Parse(JsonSerializer.Serialize(value, type))!.AsObject().Select(p => p.Key).ToArray();

    private static string[] InputNames => JsonNames(new PaymentTimeoutInput(1, "EE1", At), PaymentTimeoutJsonContext.Default.PaymentTimeoutInput);

    [Fact]
    public void TheExecutionInputIsWhatTheStateMachineReadsAndRebuildsWhenItExtends()
    {
        Assert.Equal(["transactionId", "merchantTradeNo", "expiresAt"], InputNames);
        Assert.Equal("$.expiresAt", States["WaitUntilExpiry"]!["TimestampPath"]!.GetValue<string>());
        // An extension waits with the answer's next state as the execution's state: an execution input, field for field.
        var extended = States["WaitUntilExtendedExpiry"]!;
        Assert.Equal("$.reconcile.next", extended["InputPath"]!.GetValue<string>());
        Assert.Equal("$.expiresAt", extended["TimestampPath"]!.GetValue<string>());
        var answer = JsonNode.Parse(JsonSerializer.Serialize(ReconcileAnswer.ExtendTo(new PaymentTimeoutInput(1, "EE1", At), At.AddDays(1)), PaymentTimeoutJsonContext.Default.ReconcileAnswer))!;
        Assert.Equal(InputNames, answer["next"]!.AsObject().Select(p => p.Key));
        Assert.Equal(answer["expiresAt"]!.GetValue<string>(), answer["next"]!["expiresAt"]!.GetValue<string>());
    }

    [Fact]
    public void TheReconcileTaskGetsExactlyTheTaskInputsFields()
    {
        var task = new ReconcileTaskInput(1, "EE1", At, "EE1", ConfirmCredit: true);
        var names = JsonNames(task, PaymentTimeoutJsonContext.Default.ReconcileTaskInput);
        var parameters = States["Reconcile"]!["Parameters"]!.AsObject();
        Assert.Equal(names, parameters.Select(p => p.Key.EndsWith(".$", StringComparison.Ordinal) ? p.Key[..^2] : p.Key));
        foreach (var name in InputNames)
            Assert.Equal($"$.{name}", parameters[name + ".$"]!.GetValue<string>());
    }

    [Fact]
    public void TheStateMachineReadsTheAnswersFieldsAndDecidesOnEveryOutcomeAndNoOther()
    {
        Assert.Equal("$.reconcile", States["Reconcile"]!["ResultPath"]!.GetValue<string>());
        var answer = JsonNames(ReconcileAnswer.ExtendTo(new PaymentTimeoutInput(1, "EE1", At), At), PaymentTimeoutJsonContext.Default.ReconcileAnswer);
        // expiresAt: for executions started before next existed.
        Assert.Equal(["outcome", "expiresAt", "next"], answer);

        var conditions = Conditions(States["DecideOutcome"]!["Choices"]!).ToList();
        var read = conditions.Select(c => c["Variable"]!.GetValue<string>()).Where(v => v.StartsWith("$.reconcile.", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(InputNames.Select(n => "$.reconcile.next." + n).Append("$.reconcile.outcome").Order(), read.Order());
        var decided = conditions.Where(c => c["Variable"]!.GetValue<string>() == "$.reconcile.outcome" && c["StringEquals"] is not null)
            .Select(c => c["StringEquals"]!.GetValue<string>()).ToHashSet();
        Assert.Equal(ReconcileOutcome.All.Order(), decided.Order());
    }

    private static IEnumerable<JsonObject> Conditions(JsonNode node)
    {
        switch (node)
        {
            case JsonObject o:
                if (o.ContainsKey("Variable")) yield return o;
                foreach (var child in o.Select(p => p.Value).OfType<JsonNode>())
                    foreach (var c in Conditions(child)) yield return c;
                break;
            case JsonArray a:
                foreach (var child in a.OfType<JsonNode>())
                    foreach (var c in Conditions(child)) yield return c;
                break;
        }
    }
}
