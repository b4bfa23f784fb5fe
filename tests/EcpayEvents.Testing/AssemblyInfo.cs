namespace EcpayEvents.Testing;
