using System.Collections;

namespace EcpayEvents.Messaging;

/// <summary>The log scope of one SQS message: its MessageId and the MerchantTradeNo it concerns (when known).</summary>
public sealed class MessageLogScope(string messageId, string? merchantTradeNo) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => merchantTradeNo is null ? 1 : 2;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("MessageId", messageId),
        1 when merchantTradeNo is not null => new("MerchantTradeNo", merchantTradeNo),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => merchantTradeNo is null ? $"MessageId:{messageId}" : $"MessageId:{messageId} MerchantTradeNo:{merchantTradeNo}";
}
