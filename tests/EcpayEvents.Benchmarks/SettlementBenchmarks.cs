using BenchmarkDotNet.Attributes;
using EcpayEvents.Payments.Settlement;
using EcpayEvents.Payments.Transactions;

namespace EcpayEvents.Benchmarks;

/// <summary>The pure part of settling one queue message (no database).</summary>
[MemoryDiagnoser]
public class SettlementBenchmarks
{
    private readonly Dictionary<string, string> _fields = Samples.SignedReturnUrlDictionary;
    private readonly SettlementPolicy _policy = new(Samples.Credentials.MerchantId);
    private readonly TransactionState _pending = new(42, 7, TransactionType.Deposit, 500, TransactionStatus.Pending);
    private PaymentNotice _notice = null!;

    [GlobalSetup]
    public void Setup()
    {
        if (!PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, _fields, out var notice, out var error))
            throw new InvalidOperationException(error);
        _notice = notice;
        var decision = SettlementRules.Decide(new ReceivedResult.Parsed(_notice), _pending, _policy);
        if (decision.Action != SettlementAction.Complete)
            throw new InvalidOperationException($"unexpected decision {decision}");
    }

    [Benchmark(Description = "PaymentNotice.TryParse (ReturnURL fields)")]
    public PaymentNotice? NoticeParse()
        => PaymentNotice.TryParse(PaymentResultSource.ReturnUrl, _fields, out var notice, out _) ? notice : null;

    [Benchmark(Description = "SettlementRules.Decide (paid, pending)")]
    public SettlementDecision Decide() => SettlementRules.Decide(new ReceivedResult.Parsed(_notice), _pending, _policy);

    [Benchmark(Description = "DedupKey.Compute (verified ReturnURL)")]
    public string DedupVerified() => DedupKey.Compute(PaymentResultSource.ReturnUrl, _fields, macVerified: true);

    [Benchmark(Description = "DedupKey.Compute (unverified: all fields)")]
    public string DedupUnverified() => DedupKey.Compute(PaymentResultSource.ReturnUrl, _fields, macVerified: false);
}
