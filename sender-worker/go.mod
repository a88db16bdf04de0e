module mailing/sender-worker

go 1.26.8
