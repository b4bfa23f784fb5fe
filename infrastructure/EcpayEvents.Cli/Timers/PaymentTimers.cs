using System.Globalization;
using System.Text.RegularExpressions;
using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Payments.Transactions;

namespace EcpayEvents.Cli.Timers;

/// <summary>A pending deposit as the ledger has it.</summary>
public sealed record PendingPayment(long TransactionId, string MerchantTradeNo, DateTimeOffset? ExpiresAt);

/// <summary>
/// Where a pending payment's timer stands: its latest payment-timeout execution (<c>null</c>: none was ever
/// started) with that execution's status and failure, and the name a new one would get.
/// </summary>
public sealed record TimerState(PendingPayment Payment, DescribeExecutionResponse? Latest, string NextName)
{
    public bool IsArmed => Latest?.Status == ExecutionStatus.Running;

    /// <summary>"missing" or the latest execution's status, with the underlying reason of a failure.</summary>
    public string Describe() => Latest switch
    {
        null => "missing (never started)",
        { Status: ExecutionStatus.Running } => ExecutionStatus.Running,
        { Error: null, Cause: null } e => e.Status,
        var e => $"{e.Status}: {TaskFailure.Unwrap(e.Error, e.Cause)}",
    };
}

/// <summary>What <see cref="PaymentTimers.RearmAsync"/> did.</summary>
/// <param name="WaitsUntil">The expiresAt the execution waits for (null: an already running one with an unreadable input).</param>
public sealed record RearmResult(PendingPayment Payment, string ExecutionName, string ExecutionArn, DateTimeOffset? WaitsUntil, bool AlreadyArmed);

/// <summary>
/// The pending payments of the ledger against their payment-timeout executions. A payment's executions are
/// named <c>MerchantTradeNo</c> (the one the deposit started), then <c>MerchantTradeNo-r1</c>,
/// <c>-r2</c>… for each re-arm: execution names are never reused, and the name is only a label — the
/// input carries transactionId and merchantTradeNo, which is all Reconcile reads.
/// </summary>
public sealed partial class PaymentTimers(StepFunctionsClient client, string stateMachineArn, PaymentsDatabase database, TimeProvider time)
{
    /// <summary>Step Functions' limit on execution names.</summary>
    public const int MaxExecutionNameLength = 80;

    /// <summary>The name of a payment's <paramref name="rearm"/>-th timer (0: the deposit's own).</summary>
    public static string ExecutionName(string merchantTradeNo, int rearm)
    {
        var name = rearm == 0 ? merchantTradeNo : string.Create(CultureInfo.InvariantCulture, $"{merchantTradeNo}-r{rearm}");
        // AWS allows more (no whitespace, brackets, wildcards, "#%\^|~`$&,;:/ or control characters); ECPay's
        // MerchantTradeNo is letters and digits, so this only ever guards against a corrupt row.
        if (name.Length > MaxExecutionNameLength || !SafeName().IsMatch(name))
            throw new ArgumentException($"'{name}' cannot be a Step Functions execution name (1–{MaxExecutionNameLength} of A-Z a-z 0-9 - _)", nameof(merchantTradeNo));
        return name;
    }

    /// <summary>The MerchantTradeNo an execution name belongs to: "EC123-r2" → "EC123".</summary>
    public static string MerchantTradeNoOf(string executionName)
    {
        var m = RearmSuffix().Match(executionName);
        return m.Success ? executionName[..m.Index] : executionName;
    }

    /// <summary>Pending deposits, oldest first.</summary>
    public async Task<IReadOnlyList<PendingPayment>> PendingAsync(CancellationToken ct = default) =>
        (await new GetTransaction(database).PendingDepositsAsync(ct)).Select(Pending).ToList();

    /// <summary>The deposit with that MerchantTradeNo and its status, or null.</summary>
    public async Task<(PendingPayment Payment, string Status)?> FindAsync(string merchantTradeNo, CancellationToken ct = default) =>
        await new GetTransaction(database).ByMerchantTradeNoAsync(merchantTradeNo, ct) is { Type: TransactionType.Deposit } deposit
            ? (Pending(deposit), deposit.Status)
            : null;

    private static PendingPayment Pending(TransactionView deposit) => new(deposit.Id, deposit.MerchantTradeNo!, deposit.ExpiresAt);

    /// <summary>
    /// Every pending payment whose timer is not running. One ListExecutions(RUNNING) covers the healthy ones;
    /// the others are looked at one by one (DescribeExecution) to say why.
    /// </summary>
    public async Task<(int Checked, IReadOnlyList<TimerState> Orphaned)> AuditAsync(CancellationToken ct = default)
    {
        var pending = await PendingAsync(ct);
        if (pending.Count == 0) return (0, []);
        var running = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var e in client.ListAllExecutionsAsync(stateMachineArn, ExecutionStatus.Running, ct))
            running.Add(MerchantTradeNoOf(e.Name));

        var orphaned = new List<TimerState>();
        foreach (var payment in pending)
        {
            if (running.Contains(payment.MerchantTradeNo)) continue;
            var state = await InspectAsync(payment, ct);
            if (!state.IsArmed) orphaned.Add(state); // it may have been re-armed since the list
        }
        return (pending.Count, orphaned);
    }

    /// <summary>Walks MerchantTradeNo, -r1, -r2… with DescribeExecution up to the first name never used.</summary>
    public async Task<TimerState> InspectAsync(PendingPayment payment, CancellationToken ct = default)
    {
        DescribeExecutionResponse? latest = null;
        for (var rearm = 0; ; rearm++)
        {
            var name = ExecutionName(payment.MerchantTradeNo, rearm);
            try
            {
                latest = await client.DescribeExecutionAsync(StepFunctionsClient.ExecutionArnOf(stateMachineArn, name), ct);
            }
            catch (StepFunctionsException e) when (e.ErrorCode == StepFunctionsErrorCodes.ExecutionDoesNotExist)
            {
                return new TimerState(payment, latest, name);
            }
        }
    }

    /// <summary>
    /// Starts the payment's next timer, waiting until its expiresAt (now, when that is past: Reconcile runs at
    /// once and asks ECPay). Does nothing when a timer runs already — also when another operator re-armed it
    /// in between (a concurrent start of the same name is ExecutionAlreadyExists or the same execution).
    /// </summary>
    public async Task<RearmResult> RearmAsync(PendingPayment payment, CancellationToken ct = default)
    {
        var state = await InspectAsync(payment, ct);
        if (state.IsArmed)
            return new RearmResult(payment, state.Latest!.Name, state.Latest.ExecutionArn, ExpiresAtOf(state.Latest), AlreadyArmed: true);

        var now = time.GetUtcNow();
        var waitsUntil = payment.ExpiresAt is { } expiresAt && expiresAt > now ? expiresAt : now;
        var input = new PaymentTimeoutInput(payment.TransactionId, payment.MerchantTradeNo, waitsUntil).ToJson();
        try
        {
            var started = await client.StartExecutionAsync(new StartExecutionRequest(stateMachineArn, state.NextName, input), ct);
            return new RearmResult(payment, state.NextName, started.ExecutionArn, waitsUntil, AlreadyArmed: false);
        }
        catch (StepFunctionsException e) when (e.ErrorCode == StepFunctionsErrorCodes.ExecutionAlreadyExists)
        {
            var raced = await client.DescribeExecutionAsync(StepFunctionsClient.ExecutionArnOf(stateMachineArn, state.NextName), ct);
            if (raced.Status != ExecutionStatus.Running) throw;
            return new RearmResult(payment, raced.Name, raced.ExecutionArn, ExpiresAtOf(raced), AlreadyArmed: true);
        }
    }

    /// <summary>The expiresAt a running execution was started with (its input).</summary>
    private static DateTimeOffset? ExpiresAtOf(DescribeExecutionResponse execution)
    {
        try
        {
            return execution.Input is { } input ? JsonSerializer.Deserialize(input, PaymentTimeoutJsonContext.Default.PaymentTimeoutInput)?.ExpiresAt : null;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return null;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex SafeName();

    [GeneratedRegex("-r[0-9]+$")]
    private static partial Regex RearmSuffix();
}
