# collect-logs on a fake PC: one zip with the logs, redacted link.json, facts, events and a manifest.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/collect-logs.ps1'
    Set-FakeMachineMock
    Add-Type -AssemblyName System.IO.Compression
    Add-Type -AssemblyName System.IO.Compression.FileSystem

    function Read-ZipBundle {
        # Entry names, and the text of the entries asked for, read without extracting.
        param([Parameter(Mandatory = $true)] [string] $ZipPath, [string[]] $Read = @())
        $archive = [System.IO.Compression.ZipFile]::OpenRead($ZipPath)
        try {
            $texts = @{}
            foreach ($entry in $archive.Entries) {
                if ($Read -contains $entry.FullName) {
                    $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList $entry.Open()
                    try {
                        $texts[$entry.FullName] = $reader.ReadToEnd()
                    } finally {
                        $reader.Dispose()
                    }
                }
            }
            return [pscustomobject]@{ Names = @($archive.Entries | ForEach-Object { $_.FullName }); Texts = $texts }
        } finally {
            $archive.Dispose()
        }
    }
}

Describe 'collect-logs' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $null = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $companyId = '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b'
        $secret = 'connector-secret-7Qx'
        $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}","auth":{{"token":"{1}","expires":3600}},"sync":true}}' -f $companyId, $secret)
        $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books'
        $null = Add-FakeProcess -Machine $machine -Name 'QuickbooksDesktopUI.exe' -User 'alice'
        $null = Write-FakeFile -Path (Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QuickBooks\qbsdklog.txt') -Text ("====== QBSDK session started ======`r`nError = 0x8004041D`r`n")
        Add-FakeEvent -Machine $machine -Provider 'QuickBooks' -Message 'QuickBooks Desktop stopped responding.'
        Add-FakeEvent -Machine $machine -Provider 'Service Control Manager' -Message 'An unrelated service failed.'
        $outputDirectory = Join-Path -Path $machine.Root -ChildPath 'bundles'
    }

    AfterEach {
        Restore-FakeMachine
    }

    It 'writes one zip with the logs, a redacted link.json and a manifest' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.ExitCode | Should -Be 0
        (Get-ResultCheck -Result $run.Result -Name 'bundle-written')[0].passed | Should -BeTrue
        $zipPath = [string]$run.Result.data.bundle.path
        $zipPath | Should -BeLike (Join-Path -Path $outputDirectory -ChildPath 'qbd-logs-*.zip')
        Test-Path -LiteralPath $zipPath -PathType Leaf | Should -BeTrue
        # The staging folder is gone: only the zip stays.
        @(Get-ChildItem -LiteralPath $outputDirectory) | Should -HaveCount 1
        $run.Result.data.event_count | Should -Be 1

        $prefix = 'connector/legacy-Acme Books'
        $bundle = Read-ZipBundle -ZipPath $zipPath -Read @('manifest.json', ($prefix + '/link.json'))
        foreach ($name in @('manifest.json', 'facts.json', 'events.json', ($prefix + '/link.json'))) {
            $bundle.Names | Should -Contain $name
        }
        @($bundle.Names | Where-Object { $_.StartsWith('tasks/') }) | Should -HaveCount 2

        $manifest = ConvertFrom-Json -InputObject $bundle.Texts['manifest.json']
        $manifest.redacted | Should -BeTrue
        @($manifest.files).Count | Should -Be (@($bundle.Names).Count - 1)
        $linkEntry = @($manifest.files | Where-Object { $_.name -eq ($prefix + '/link.json') })
        $linkEntry | Should -HaveCount 1
        $linkEntry[0].redacted | Should -BeTrue
        $factsEntry = @($manifest.files | Where-Object { $_.name -eq 'facts.json' })
        $factsEntry[0].sha256 | Should -Match '^[0-9a-f]{64}$'
        $factsEntry[0].truncated | Should -BeFalse

        $link = $bundle.Texts[$prefix + '/link.json']
        $link | Should -BeLike ('*{0}*' -f $companyId)
        $link | Should -BeLike '*REDACTED*'
        $link | Should -Not -BeLike ('*{0}*' -f $secret)
        $run.Json | Should -Not -BeLike ('*{0}*' -f $secret)
        (Get-ResultMessage -Result $run.Result -Text 'replaced by REDACTED') | Should -HaveCount 1
    }

    It 'leaves nothing behind under -WhatIf but lists what it would collect' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory; WhatIf = $true }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $run.Result.data.bundle.path | Should -BeNullOrEmpty
        @($run.Result.data.collected | Where-Object { $_.name -eq 'connector/legacy-Acme Books/link.json' }) | Should -HaveCount 1
        @(Get-ChildItem -LiteralPath $outputDirectory) | Should -HaveCount 0
        (Get-ResultMessage -Result $run.Result -Text 'Nothing was left on the PC') | Should -HaveCount 1
    }

    It 'names each connector log by its place under the connector folder' {
        Skip-OffWindows -Because 'collect-logs cuts a log''s path below its folder as text split at \ (Add-QbdLogFolder)'

        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = $outputDirectory }

        $run.Result.status | Should -Be 'ok' -Because $run.Json
        $prefix = 'connector/legacy-Acme Books'
        $bundle = Read-ZipBundle -ZipPath ([string]$run.Result.data.bundle.path) -Read @('manifest.json')
        $bundle.Names | Should -Contain ($prefix + '/logs/connector.log')
        $bundle.Names | Should -Contain ($prefix + '/logs/connector.log.1')
        $bundle.Names | Should -Contain 'quickbooks/qbsdklog.txt'
        $manifest = ConvertFrom-Json -InputObject $bundle.Texts['manifest.json']
        $logEntry = @($manifest.files | Where-Object { $_.name -eq ($prefix + '/logs/connector.log') })
        $logEntry | Should -HaveCount 1
        $logEntry[0].sha256 | Should -Match '^[0-9a-f]{64}$'
        $logEntry[0].truncated | Should -BeFalse
        @($run.Result.data.collected | Where-Object { $_.name -eq ($prefix + '/logs/connector.log') }) | Should -HaveCount 1
    }

    It 'refuses a relative output folder' {
        $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ OutputDirectory = 'bundles' }

        $run.Result.status | Should -Be 'failed' -Because $run.Json
        $run.ExitCode | Should -Be 1
        (Get-ResultMessage -Result $run.Result -Text 'must be an absolute path') | Should -HaveCount 1
    }
}
