"""emr-rehearsal: rehearse and benchmark an EMR Spark pipeline locally."""
