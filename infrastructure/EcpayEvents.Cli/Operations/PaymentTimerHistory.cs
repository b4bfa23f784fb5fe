using EcpayEvents.Cli.Timers;
using EcpayEvents.Messaging.StepFunctions;

namespace EcpayEvents.Cli.Operations;

/// <summary>A payment's payment-timeout executions (the deposit's own, then each re-arm's), each with its events.</summary>
public sealed record PaymentTimerHistory(IReadOnlyList<PaymentTimerHistory.Execution> Executions)
{
    public sealed record Execution(DescribeExecutionResponse Description, IReadOnlyList<HistoryEvent> Events);

    /// <summary>The latest execution, if any.</summary>
    public Execution? Latest => Executions.Count == 0 ? null : Executions[^1];

    public static async Task<PaymentTimerHistory> LoadAsync(StepFunctionsClient client, string stateMachineArn, string merchantTradeNo, CancellationToken ct)
    {
        var executions = new List<Execution>();
        // Names are MTN, MTN-r1, MTN-r2 …; a deposit made while scheduling was off may start at -r1.
        for (var n = 0; n < 100; n++)
        {
            var arn = StepFunctionsClient.ExecutionArnOf(stateMachineArn, PaymentTimers.ExecutionName(merchantTradeNo, n));
            try
            {
                var described = await client.DescribeExecutionAsync(arn, ct);
                executions.Add(new Execution(described, await client.GetFullExecutionHistoryAsync(arn, ct)));
            }
            catch (StepFunctionsException e) when (e.ErrorCode == StepFunctionsErrorCodes.ExecutionDoesNotExist)
            {
                if (n > 0) break;
            }
        }
        return new PaymentTimerHistory(executions);
    }
}
