namespace EcpayEvents.Notifications;

/// <summary>Why a post was refused, as the NotificationRejected metric's Reason dimension: a fixed set (the log line has the details).</summary>
public static class RejectReason
{
    public const string BodyTooLarge = "BodyTooLarge";
    public const string Malformed = "Malformed";
    public const string UnexpectedFields = "UnexpectedFields";
    public const string MerchantIdMismatch = "MerchantIdMismatch";
    public const string CheckMacValue = "CheckMacValue";
}
