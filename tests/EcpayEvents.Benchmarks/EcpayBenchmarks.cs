using BenchmarkDotNet.Attributes;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Benchmarks;

/// <summary>What the Notifications service does per ReturnURL post, step by step.</summary>
[MemoryDiagnoser]
public class EcpayBenchmarks
{
    private readonly KeyValuePair<string, string>[] _fields = Samples.ReturnUrlFields;
    private readonly string _body = Samples.SignedReturnUrlBody;
    private EcpayForm _form = null!;

    [GlobalSetup]
    public void Setup()
    {
        _form = EcpayForm.Parse(_body);
        if (!CheckMacValue.Verify(_form, Samples.Credentials.HashKey, Samples.Credentials.HashIv))
            throw new InvalidOperationException("sample post does not verify");
    }

    [Benchmark(Description = "CheckMacValue.Compute (16 fields, CJK)")]
    public string MacCompute() => CheckMacValue.Compute(_fields, Samples.Credentials.HashKey, Samples.Credentials.HashIv);

    [Benchmark(Description = "CheckMacValue.Verify (parsed form, 17 fields)")]
    public bool MacVerify() => CheckMacValue.Verify(_form, Samples.Credentials.HashKey, Samples.Credentials.HashIv);

    [Benchmark(Description = "CheckMacValue.Verify (dictionary, as Settlement reads a message)")]
    public bool VerifyDictionary() => CheckMacValue.Verify(Samples.SignedReturnUrlDictionary, Samples.Credentials.HashKey, Samples.Credentials.HashIv);

    [Benchmark(Description = "EcpayForm.Parse (ReturnURL body)")]
    public EcpayForm FormParse() => EcpayForm.Parse(_body);

    [Benchmark(Description = "PaymentResult.Parse (parsed form)")]
    public PaymentResult ResultParse() => PaymentResult.Parse(EcpayPostKind.ReturnUrl, _form);

    [Benchmark(Description = "Parse + Verify + PaymentResult (whole check)")]
    public PaymentResult WholeCheck()
    {
        var form = EcpayForm.Parse(_body);
        if (!CheckMacValue.Verify(form, Samples.Credentials.HashKey, Samples.Credentials.HashIv))
            throw new InvalidOperationException();
        return PaymentResult.Parse(EcpayPostKind.ReturnUrl, form);
    }
}
