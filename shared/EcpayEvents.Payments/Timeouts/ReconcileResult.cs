namespace EcpayEvents.Payments.Timeouts;

/// <summary>The end of a reconcile: an answer for the state machine, or an error for it to retry.</summary>
public sealed record ReconcileResult(ReconcileAnswer? Answer, ReconcileDecision.Fail? Error);
