namespace EcpayEvents.Ecpay;

/// <summary>A post or answer from ECPay that is well-formed as a form but not as the message it claims to be.</summary>
public sealed class EcpayPostException(string field, string message) : FormatException(message)
{
    /// <summary>The offending field's name.</summary>
    public string Field { get; } = field;
}
